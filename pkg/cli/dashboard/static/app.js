// The dashboard's page: a table of the releases, kept up to date from the server's event stream, with
// the actions a person takes on them, and one release's view: its timeline, its plan still to come, its
// pods, its checks and its history. Every string of the server's goes into the page as text
// (textContent), never as markup: a release's name, a reason or an image is data.
"use strict";

(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  // releases by namespace/name: the summaries as last received.
  const releases = new Map();

  function key(r) {
    return r.namespace + "/" + r.name;
  }

  // el makes an element of tag with a class and text.
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) {
      e.className = className;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function cell(row, text) {
    const td = el("td", "", text);
    if (text) {
      td.title = text; // the whole of what a narrow column cuts
    }
    row.appendChild(td);
    return td;
  }

  function say(text, error) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.className = error ? "error" : "";
  }

  // order is the fleet's: releases waiting for a person first, then by namespace and name.
  function order(a, b) {
    if (a.awaitingNext !== b.awaitingNext) {
      return a.awaitingNext ? -1 : 1;
    }
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  }

  // ended says whether a release has ended. A Failed one has not: it waits for resume or cancel.
  function ended(phase) {
    return phase === "Succeeded" || phase === "Canceled";
  }

  // verbsOf are the actions that apply to a release in phase.
  function verbsOf(phase) {
    if (ended(phase)) {
      return [];
    }
    if (phase === "Paused" || phase === "Failed") {
      return ["resume", "cancel"];
    }
    // promote is next to the last batch: the rest of the pods at once (the server refuses it while a
    // check it would skip has not passed).
    return ["next", "promote", "pause", "cancel"];
  }

  // act sends verb for r with the batch and phase the page shows: a page that is out of date gets the
  // server's 409 rather than moving a batch nobody saw.
  async function act(r, verb) {
    const body = { expectedBatch: r.currentBatch };
    if (r.batchPhase) {
      body.expectedPhase = r.batchPhase;
    }
    say(verb + " " + key(r) + "…");
    try {
      const resp = await fetch("/api/releases/" + encodeURIComponent(r.namespace) + "/" +
        encodeURIComponent(r.name) + "/" + verb, {
        method: "POST",
        headers: { "X-Triton-Token": token, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        say("Error " + resp.status + ": " + (answer.message || resp.statusText), true);
        return;
      }
      say(verb + " " + key(r) + ": done");
    } catch (e) {
      say("Error: " + e, true);
    }
  }

  function buttons(parent, r) {
    for (const verb of verbsOf(r.phase)) {
      const b = el("button", "", verb);
      b.type = "button";
      b.dataset.verb = verb;
      b.addEventListener("click", () => act(r, verb));
      parent.appendChild(b);
    }
  }

  function phaseBadge(phase) {
    return el("span", "phase phase-" + (phase || "Pending"), phase || "Pending");
  }

  // filters are the filters' values: namespace and CloneSet by part of their name, phase exactly.
  function filters() {
    return {
      ns: document.getElementById("filter-namespace").value.trim(),
      cs: document.getElementById("filter-cloneset").value.trim(),
      phase: document.getElementById("filter-phase").value,
    };
  }

  // matches says whether r passes the filters f.
  function matches(r, f) {
    return (!f.ns || r.namespace.includes(f.ns)) && (!f.cs || r.cloneSet.includes(f.cs)) && (!f.phase || r.phase === f.phase);
  }

  // tritonFirstRender is when the table was first drawn, in milliseconds since the page started loading
  // (performance.now()); tritonRenderMs what its last drawing took. The benchmark reads them.
  window.tritonFirstRender = null;
  window.tritonRenderMs = null;

  // rows are the table's rows as drawn, by namespace/name: the text of the summary each was drawn from,
  // and the row. A release whose summary did not change keeps its row, so that an event redraws one row,
  // not a thousand.
  const rows = new Map();
  // texts are the summaries as received, as JSON text: what tells a change from a repeat.
  const texts = new Map();

  function put(r, text) {
    releases.set(key(r), r);
    texts.set(key(r), text);
  }

  function drop(k) {
    releases.delete(k);
    texts.delete(k);
    rows.delete(k);
  }

  function rowOf(r) {
    const k = key(r);
    const text = texts.get(k);
    const drawn = rows.get(k);
    if (drawn && drawn.text === text) {
      return drawn.row;
    }
    const row = el("tr", r.awaitingNext ? "awaiting" : "");
    row.dataset.release = k;
    cell(row, r.namespace);
    const open = el("button", "open", r.name);
    open.type = "button";
    open.addEventListener("click", () => {
      // The address names the release shown, so that a reload (or the address kept) shows it again.
      history.replaceState(null, "", "#" + encodeURIComponent(r.namespace) + "/" + encodeURIComponent(r.name));
      show(r.namespace, r.name);
    });
    cell(row, "").appendChild(open);
    cell(row, r.cloneSet);
    cell(row, r.action);
    cell(row, r.mode);
    cell(row, "").appendChild(phaseBadge(r.phase));
    cell(row, r.currentBatch > 0 ? r.currentBatch + "/" + r.batches + " " + r.batchPhase : "-").className = "batch";
    const progress = cell(row, "");
    const bar = el("span", "bar");
    const fill = el("div");
    fill.style.width = (r.progress.target > 0 ? Math.round(100 * r.progress.updated / r.progress.target) : 0) + "%";
    bar.appendChild(fill);
    progress.appendChild(bar);
    progress.appendChild(document.createTextNode(r.progress.updated + "/" + r.progress.target));
    const waiting = cell(row, "");
    if (r.awaitingNext) {
      waiting.appendChild(el("span", "you", "waiting for you"));
    }
    waiting.appendChild(document.createTextNode(r.waitingFor));
    buttons(cell(row, ""), r);
    rows.set(k, { text: text, row: row });
    return row;
  }

  // render draws the table: the releases that pass the filters, in the fleet's order. Rows that did not
  // change stay in the page; where the order stayed too, only the changed rows are replaced.
  function render() {
    const started = performance.now();
    const tbody = document.querySelector("#releases tbody");
    const f = filters();
    const wanted = [...releases.values()].filter((r) => matches(r, f)).sort(order).map(rowOf);
    const drawn = tbody.children;
    let moved = wanted.length !== drawn.length;
    const changed = [];
    for (let i = 0; !moved && i < wanted.length; i++) {
      if (wanted[i] !== drawn[i]) {
        if (wanted[i].dataset.release !== drawn[i].dataset.release) {
          moved = true;
        } else {
          changed.push(i);
        }
      }
    }
    if (moved) {
      tbody.replaceChildren(...wanted);
    } else {
      for (const i of changed) {
        drawn[i].replaceWith(wanted[i]);
      }
    }
    document.getElementById("releases").hidden = false;
    if (window.tritonFirstRender === null) {
      window.tritonFirstRender = performance.now();
    }
    // What the last drawing took (the script's part; the browser lays the table out after it).
    window.tritonRenderMs = performance.now() - started;
  }

  // A burst of events redraws the table once, at the next frame.
  let renderPending = false;
  function renderSoon() {
    if (renderPending) {
      return;
    }
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      render();
    });
  }

  // shown is the release whose view is open ({namespace, name}), or null.
  let shown = null;

  function when(t) {
    return t ? new Date(t).toLocaleTimeString() : "-";
  }

  // duration is a span of milliseconds in words: 45s, 3m20s, 2h5m.
  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return Math.floor(s / 60) + "m" + (s % 60 ? (s % 60) + "s" : "");
    }
    return Math.floor(s / 3600) + "h" + (Math.floor(s / 60) % 60 ? (Math.floor(s / 60) % 60) + "m" : "");
  }

  function heading(parent, text) {
    parent.appendChild(el("h3", "", text));
  }

  // table appends a table of rows (arrays of text) under headers to parent.
  function table(parent, headers, rows, className) {
    const t = el("table", className);
    const head = el("tr");
    for (const h of headers) {
      head.appendChild(el("th", "", h));
    }
    t.appendChild(head);
    for (const r of rows) {
      const tr = el("tr");
      for (const text of r) {
        cell(tr, text);
      }
      t.appendChild(tr);
    }
    parent.appendChild(t);
  }

  function batchName(b) {
    return "batch " + b.index + (b.canary ? " (canary)" : "");
  }

  const spanWords = {
    smoking: "pods being made",
    baking: "in traffic, baking",
    waiting: "waiting for a person",
    interval: "an interval (Auto; blue/green: blue kept)",
    paused: "paused",
    failed: "failed",
  };

  // spanTitle says what a span of the timeline was, for its tooltip and for the list of waits.
  function spanTitle(s) {
    let text = spanWords[s.kind] + ", " + duration(Date.parse(s.to) - Date.parse(s.from));
    if (s.open) {
      text += " so far";
    }
    if (s.kind === "waiting" && s.by) {
      text += ", until " + s.by + "'s next";
    }
    if (s.kind === "paused" && s.by) {
      text += ", by " + s.by;
    }
    return text;
  }

  // drawTimeline draws the batches over time, one lane each: their spans (made, waiting, baking), the
  // pauses and failures under them, and a mark for every person's action; then, in words, every wait for a
  // person and the plan still to come.
  function drawTimeline(parent, tl, batches) {
    // What goes on goes on until now, by the page's clock, between two reads of the release.
    const now = Date.now();
    if (tl.spans.some((s) => s.open) && now > Date.parse(tl.to)) {
      const to = new Date(now).toISOString();
      tl = Object.assign({}, tl, { to: to, spans: tl.spans.map((s) => (s.open ? Object.assign({}, s, { to: to }) : s)) });
    }
    const from = Date.parse(tl.from);
    const length = Math.max(Date.parse(tl.to) - from, 1000);
    const at = (t) => Math.min(100, Math.max(0, (100 * (Date.parse(t) - from)) / length));
    const box = el("div", "timeline");
    const axis = el("div", "axis");
    axis.appendChild(el("span", "", when(tl.from)));
    axis.appendChild(el("span", "", duration(length)));
    axis.appendChild(el("span", "", when(tl.to)));
    box.appendChild(axis);
    for (const b of batches) {
      const spans = tl.spans.filter((s) => s.batch === b.index);
      const marks = tl.marks.filter((m) => m.batch === b.index);
      if (!spans.length && !b.startedAt) {
        continue;
      }
      const lane = el("div", "lane");
      lane.dataset.batch = String(b.index);
      lane.appendChild(el("div", "lane-label", batchName(b)));
      const track = el("div", "track");
      for (const s of spans) {
        const d = el("div", "span" + (s.open ? " open" : ""));
        d.dataset.kind = s.kind;
        d.style.left = at(s.from) + "%";
        d.style.width = Math.max(at(s.to) - at(s.from), 0.3) + "%";
        d.title = batchName(b) + ": " + spanTitle(s);
        track.appendChild(d);
      }
      for (const m of marks) {
        const d = el("div", "mark");
        d.dataset.action = m.action;
        d.style.left = at(m.time) + "%";
        d.title = m.action + (m.user ? " by " + m.user : "") + " at " + when(m.time) + (m.reason ? ": " + m.reason : "");
        track.appendChild(d);
      }
      lane.appendChild(track);
      box.appendChild(lane);
    }
    const legend = el("div", "legend");
    for (const kind of Object.keys(spanWords)) {
      legend.appendChild(el("span", kind, spanWords[kind]));
    }
    box.appendChild(legend);
    parent.appendChild(box);

    const waits = tl.spans.filter((s) => s.kind === "waiting" || s.kind === "paused" || s.kind === "failed");
    if (waits.length) {
      const list = el("ul", "waits");
      for (const s of waits) {
        list.appendChild(el("li", "", "batch " + s.batch + ": " + spanTitle(s)));
      }
      parent.appendChild(list);
    }
  }

  function drawPlan(parent, toCome) {
    heading(parent, "Still to come");
    if (!toCome.length) {
      parent.appendChild(el("p", "note", "Nothing: every batch has started."));
      return;
    }
    const list = el("ol", "plan");
    for (const b of toCome) {
      let text = batchName(b) + ": " + b.replicas + (b.replicas === 1 ? " pod" : " pods") + " (" + b.target +
        " in all), started by " + b.startsOn;
      if (b.checks && b.checks.length) {
        text += "; Baked once these checks pass: " + b.checks.join(", ");
      }
      const li = el("li", "", text);
      li.value = b.index;
      list.appendChild(li);
    }
    parent.appendChild(list);
  }

  // podState is a pod's state on the map: failing, leaving, in traffic, ready (out of traffic) or not ready.
  function podState(p) {
    if (p.failing) {
      return "failing";
    }
    if (p.leaving) {
      return "leaving";
    }
    if (p.inTraffic) {
      return "in-traffic";
    }
    return p.ready ? "ready" : "not-ready";
  }

  const stateWords = {
    failing: "failing",
    leaving: "leaving",
    "in-traffic": "in traffic",
    ready: "ready, out of traffic",
    "not-ready": "not ready",
  };

  function podTile(p) {
    const state = podState(p);
    const tile = el("div", "pod");
    tile.dataset.pod = p.name;
    tile.dataset.state = state;
    tile.appendChild(el("span", "name", p.name));
    if (p.image) {
      // The version: the image without its registry's path.
      tile.appendChild(el("span", "version", p.image.slice(p.image.lastIndexOf("/") + 1)));
    }
    tile.appendChild(el("span", "state", stateWords[state] + (p.why ? ": " + p.why : "") + (p.restarts ? ", " + p.restarts + " restarts" : "")));
    tile.title = [p.phase, p.revision && "revision " + p.revision, p.image].filter(Boolean).join(" · ");
    return tile;
  }

  function podGroup(parent, title, className, pods) {
    const g = el("div", "group " + className);
    g.appendChild(el("h4", "", title + " · " + pods.length));
    const tiles = el("div", "pods");
    for (const p of pods) {
      tiles.appendChild(podTile(p));
    }
    g.appendChild(tiles);
    parent.appendChild(g);
  }

  // drawPods draws the pods of the release's CloneSet: blue and green side by side for a blue/green release,
  // else a group per batch beside the pods the release has not changed. Where the user may not list pods,
  // the batches' pods from the release's status stand in.
  function drawPods(parent, podMap, release) {
    const st = release.status || {};
    let pods = podMap.pods;
    if (podMap.error) {
      parent.appendChild(el("p", "note", podMap.error + "; shown: the batches' pods as the release's status has them."));
      pods = [];
      for (const b of st.batches || []) {
        for (const p of b.pods || []) {
          pods.push({ name: p.name, batch: release.spec.strategy && release.spec.strategy.type === "BlueGreen" ? "preview" : String(b.index),
            phase: p.phase, ready: !!p.ready, inTraffic: !!(p.ready && p.pulledIn) });
        }
      }
    }
    const map = el("div", "podmap");
    if (release.spec.strategy && release.spec.strategy.type === "BlueGreen") {
      podGroup(map, "blue: before the release", "blue", pods.filter((p) => !p.batch));
      podGroup(map, "green: the preview", "green", pods.filter((p) => p.batch));
    } else {
      for (const b of st.batches || []) {
        const mine = pods.filter((p) => p.batch === String(b.index));
        if (mine.length || b.startedAt) {
          podGroup(map, batchName(b), "batch", mine);
        }
      }
      if (!podMap.error) {
        podGroup(map, "not changed by the release", "old", pods.filter((p) => !p.batch));
      }
    }
    parent.appendChild(map);
    if (podMap.truncated) {
      parent.appendChild(el("p", "note", "The first " + podMap.pods.length + " pods only."));
    }
  }

  // summaryOf is a release as the fleet table has it, for the view's buttons.
  function summaryOf(r) {
    const st = r.status || {};
    const b = (st.batches || [])[(st.currentBatch || 0) - 1];
    return { namespace: r.metadata.namespace, name: r.metadata.name, phase: st.phase || "Pending",
      currentBatch: st.currentBatch || 0, batchPhase: b ? b.phase : "" };
  }

  // renderDetail draws one release: its timeline, its plan still to come, its pods, its batches, its
  // analysis checks and its history with who did what and why.
  function renderDetail(v) {
    const r = v.release;
    const detail = document.getElementById("detail");
    const st = r.status || {};
    const batches = st.batches || [];
    const parts = document.createDocumentFragment();
    parts.appendChild(el("h2", "", r.metadata.namespace + "/" + r.metadata.name));
    const summary = el("p", "summary");
    summary.appendChild(phaseBadge(st.phase));
    summary.appendChild(document.createTextNode(" batch " + (st.currentBatch || 0) + " of " + batches.length +
      " · CloneSet " + r.spec.cloneSetName + " · " + r.spec.action + " · " +
      ((r.spec.strategy && r.spec.strategy.type) || "Batch") + ", " + ((r.spec.strategy && r.spec.strategy.mode) || "Manual") + " "));
    buttons(summary, summaryOf(r));
    parts.appendChild(summary);

    heading(parts, "Timeline");
    drawTimeline(parts, v.timeline, batches);
    drawPlan(parts, v.timeline.toCome);

    heading(parts, "Pods");
    drawPods(parts, v.pods, r);

    heading(parts, "Batches");
    table(parts, ["Batch", "Phase", "Pods", "Started", "Smoked", "Baked"],
      batches.map((b) => [
        batchName(b) + (b.index === st.currentBatch ? " (current)" : ""),
        b.phase || "-",
        String(b.replicas) + " of " + String(b.target),
        when(b.startedAt), when(b.smokedAt), when(b.bakedAt),
      ]), "batches");

    const checks = [];
    for (const b of batches) {
      for (const a of b.analysis || []) {
        const ms = a.measurements || [];
        const last = ms.length ? ms[ms.length - 1] : null;
        checks.push([String(b.index), a.name, a.phase || "-", last ? (last.value || "") : "-", a.message || ""]);
      }
    }
    if (checks.length) {
      heading(parts, "Analysis");
      table(parts, ["Batch", "Check", "Phase", "Last value", "Message"], checks, "analysis");
    }

    heading(parts, "History");
    table(parts, ["Time", "User", "Action", "From", "To", "Reason"],
      (st.history || []).map((h) => [when(h.time), h.user || "", h.action, h.fromPhase || "", h.toPhase || "", h.reason || ""]),
      "history");
    detail.replaceChildren(parts);
    detail.hidden = false;
  }

  async function show(namespace, name) {
    shown = { namespace: namespace, name: name };
    try {
      const resp = await fetch("/api/releases/" + encodeURIComponent(namespace) + "/" + encodeURIComponent(name) + "/view",
        { headers: { "X-Triton-Token": token } });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        say("Error " + resp.status + ": " + (body.message || resp.statusText), true);
        return;
      }
      if (shown && shown.namespace === namespace && shown.name === name) {
        lastView = body;
        renderDetail(body);
      }
    } catch (e) {
      say("Error: " + e, true);
    }
  }

  // lastView is the open view as last read: every 10 s it is drawn again, so that the waits that go on
  // grow by the page's clock (unless the page is frozen); only events read it again.
  let lastView = null;
  setInterval(() => {
    if (lastView && events && shown && lastView.release.metadata.namespace === shown.namespace &&
        lastView.release.metadata.name === shown.name) {
      renderDetail(lastView);
    }
  }, 10000);

  // refreshShown reads the open view again after an event: one read at a time, and one more after it for
  // every burst of events that came meanwhile.
  let reading = false;
  let readAgain = false;
  async function refreshShown() {
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    try {
      await show(shown.namespace, shown.name);
    } finally {
      reading = false;
      if (readAgain && shown) {
        readAgain = false;
        refreshShown();
      }
    }
  }

  async function load() {
    try {
      const resp = await fetch("/api/releases", { headers: { "X-Triton-Token": token } });
      if (!resp.ok) {
        // The API answers {"message"}; the guard, a line of text.
        const text = await resp.text();
        let message = text;
        try {
          message = JSON.parse(text).message;
        } catch (_) {
          // text it is
        }
        say("Error " + resp.status + ": " + message, true);
        return;
      }
      const body = await resp.json();
      releases.clear();
      texts.clear();
      for (const r of body.items) {
        put(r, JSON.stringify(r));
      }
      render();
      say(body.items.length + " releases" + (body.truncated ? " (the first ones only)" : ""));
      follow();
    } catch (e) {
      say("Error: " + e, true);
    }
  }

  // events is the open event stream; null while the table is frozen.
  let events = null;

  function liveIs(text, className) {
    const live = document.getElementById("live");
    live.textContent = text;
    live.className = className || "";
  }

  // freeze stops the live updates, so that the table holds still while a person reads it or picks a
  // button; what they then do is checked against the batch the table shows (a 409 when it moved on).
  // Unfreezing reads the releases again and follows them.
  function toggleFreeze() {
    const button = document.getElementById("freeze");
    if (events) {
      events.close();
      events = null;
      button.textContent = "follow live updates";
      liveIs("frozen");
      return;
    }
    button.textContent = "freeze";
    load();
  }

  // follow keeps the table up to date from the server's event stream. A browser cannot send a header
  // with EventSource: the token goes in the URL, which the server accepts for a GET. The browser
  // reconnects by itself; the page says when it is not connected.
  function follow() {
    if (events) {
      events.close();
    }
    events = new EventSource("/api/events?token=" + encodeURIComponent(token));
    events.addEventListener("open", () => liveIs("live", "connected"));
    events.addEventListener("error", () => liveIs("connection lost: reconnecting…", "lost"));
    events.addEventListener("release", (e) => {
      const change = JSON.parse(e.data);
      const k = key(change.release);
      if (change.type === "DELETED") {
        drop(k);
        renderSoon();
      } else {
        // The stream starts with every release, which the table has already: a repeat draws nothing.
        const text = JSON.stringify(change.release);
        if (texts.get(k) !== text) {
          put(change.release, text);
          renderSoon();
        }
      }
      // The open view reads its release again on every change, even one the table does not show (a
      // measurement of a check, a pod).
      if (shown && shown.namespace === change.release.namespace && shown.name === change.release.name) {
        refreshShown();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("freeze").addEventListener("click", toggleFreeze);
    for (const id of ["filter-namespace", "filter-cloneset", "filter-phase"]) {
      document.getElementById(id).addEventListener("input", render);
    }
    const linked = /^#([^/]+)\/([^/]+)$/.exec(window.location.hash);
    if (linked) {
      show(decodeURIComponent(linked[1]), decodeURIComponent(linked[2]));
    }
    load();
  });
})();
