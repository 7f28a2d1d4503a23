// The dashboard's page: a table of the releases, kept up to date from the server's event stream, with
// the actions a person takes on them. Every string of the server's goes into the page as text
// (textContent), never as markup: a release's name, a reason or an image is data.
"use strict";

(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  // releases by namespace/name: the summaries as last received.
  const releases = new Map();

  function key(r) {
    return r.namespace + "/" + r.name;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function say(text) {
    document.getElementById("status").textContent = text;
  }

  // order is the fleet's: releases waiting for a person first, then by namespace and name.
  function order(a, b) {
    if (a.awaitingNext !== b.awaitingNext) {
      return a.awaitingNext ? -1 : 1;
    }
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  }

  function finished(r) {
    return r.phase === "Succeeded" || r.phase === "Failed" || r.phase === "Canceled";
  }

  // act sends verb for r with the batch and phase the row shows: a page that is out of date gets the
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
        say("Error " + resp.status + ": " + (answer.message || resp.statusText));
        return;
      }
      say(verb + " " + key(r) + ": done");
    } catch (e) {
      say("Error: " + e);
    }
  }

  function buttons(td, r) {
    const verbs = finished(r) ? [] : r.phase === "Paused" ? ["resume", "cancel"] : ["next", "pause", "cancel"];
    for (const verb of verbs) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = verb;
      b.dataset.verb = verb;
      b.addEventListener("click", () => act(r, verb));
      td.appendChild(b);
    }
  }

  // matches says whether r passes the filters: namespace and CloneSet by part of their name, phase exactly.
  function matches(r) {
    const ns = document.getElementById("filter-namespace").value.trim();
    const cs = document.getElementById("filter-cloneset").value.trim();
    const phase = document.getElementById("filter-phase").value;
    return (!ns || r.namespace.includes(ns)) && (!cs || r.cloneSet.includes(cs)) && (!phase || r.phase === phase);
  }

  function render() {
    const tbody = document.querySelector("#releases tbody");
    tbody.replaceChildren();
    for (const r of [...releases.values()].filter(matches).sort(order)) {
      const row = document.createElement("tr");
      row.dataset.release = key(r);
      cell(row, r.namespace);
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = r.name;
      open.addEventListener("click", () => show(r.namespace, r.name));
      cell(row, "").appendChild(open);
      cell(row, r.cloneSet);
      cell(row, r.action);
      cell(row, r.mode);
      cell(row, r.phase);
      cell(row, r.currentBatch > 0 ? r.currentBatch + "/" + r.batches + " " + r.batchPhase : "-").className = "batch";
      cell(row, r.progress.updated + "/" + r.progress.target);
      cell(row, r.waitingFor);
      buttons(cell(row, ""), r);
      tbody.appendChild(row);
    }
    document.getElementById("releases").hidden = false;
  }

  // shown is the release whose detail is open ({namespace, name}), or null.
  let shown = null;

  function when(t) {
    return t ? new Date(t).toLocaleTimeString() : "-";
  }

  function heading(parent, text) {
    const h = document.createElement("h3");
    h.textContent = text;
    parent.appendChild(h);
  }

  // table appends a table of rows (arrays of text) under headers to parent.
  function table(parent, headers, rows, className) {
    const t = document.createElement("table");
    if (className) {
      t.className = className;
    }
    const head = document.createElement("tr");
    for (const h of headers) {
      const th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    }
    t.appendChild(head);
    for (const r of rows) {
      const tr = document.createElement("tr");
      for (const text of r) {
        cell(tr, text);
      }
      t.appendChild(tr);
    }
    parent.appendChild(t);
  }

  // podText is a pod as the pod map shows it: its name, its phase, and whether it is ready and in traffic.
  function podText(p) {
    return p.name + " (" + (p.phase || "?") + (p.ready ? ", ready" : ", not ready") +
      (p.pulledIn ? ", in traffic" : ", out of traffic") + ")";
  }

  // renderDetail draws one release: its batches as a timeline with their pods, its analysis checks, and
  // its history with who did what and why.
  function renderDetail(r) {
    const detail = document.getElementById("detail");
    detail.replaceChildren();
    const title = document.createElement("h2");
    title.textContent = r.metadata.namespace + "/" + r.metadata.name;
    detail.appendChild(title);
    const st = r.status || {};
    const summary = document.createElement("p");
    summary.textContent = (st.phase || "Pending") + ", batch " + (st.currentBatch || 0) + " of " +
      (st.batches || []).length + "; CloneSet " + r.spec.cloneSetName;
    detail.appendChild(summary);

    heading(detail, "Batches");
    table(detail, ["Batch", "Phase", "Pods", "Started", "Smoked", "Baked", "Pod map"],
      (st.batches || []).map((b) => [
        String(b.index) + (b.canary ? " (canary)" : "") + (b.index === st.currentBatch ? " <" : ""),
        b.phase || "-",
        String(b.replicas) + " of " + String(b.target),
        when(b.startedAt), when(b.smokedAt), when(b.bakedAt),
        (b.pods || []).map(podText).join("; "),
      ]), "batches");

    const checks = [];
    for (const b of st.batches || []) {
      for (const a of b.analysis || []) {
        const ms = a.measurements || [];
        const last = ms.length ? ms[ms.length - 1] : null;
        checks.push([String(b.index), a.name, a.phase || "-", last ? (last.value || "") : "-", a.message || ""]);
      }
    }
    if (checks.length) {
      heading(detail, "Analysis");
      table(detail, ["Batch", "Check", "Phase", "Last value", "Message"], checks, "analysis");
    }

    heading(detail, "History");
    table(detail, ["Time", "User", "Action", "From", "To", "Reason"],
      (st.history || []).map((h) => [when(h.time), h.user || "", h.action, h.fromPhase || "", h.toPhase || "", h.reason || ""]),
      "history");
    detail.hidden = false;
  }

  async function show(namespace, name) {
    shown = { namespace: namespace, name: name };
    try {
      const resp = await fetch("/api/releases/" + encodeURIComponent(namespace) + "/" + encodeURIComponent(name),
        { headers: { "X-Triton-Token": token } });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        say("Error " + resp.status + ": " + (body.message || resp.statusText));
        return;
      }
      if (shown && shown.namespace === namespace && shown.name === name) {
        renderDetail(body);
      }
    } catch (e) {
      say("Error: " + e);
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
        say("Error " + resp.status + ": " + message);
        return;
      }
      const body = await resp.json();
      releases.clear();
      for (const r of body.items) {
        releases.set(key(r), r);
      }
      render();
      say(body.items.length + " releases" + (body.truncated ? " (the first ones only)" : ""));
      follow();
    } catch (e) {
      say("Error: " + e);
    }
  }

  // events is the open event stream; null while the table is frozen.
  let events = null;

  // freeze stops the live updates, so that the table holds still while a person reads it or picks a
  // button; what they then do is checked against the batch the table shows (a 409 when it moved on).
  // Unfreezing reads the releases again and follows them.
  function toggleFreeze() {
    const button = document.getElementById("freeze");
    if (events) {
      events.close();
      events = null;
      button.textContent = "follow live updates";
      document.getElementById("live").textContent = "frozen";
      return;
    }
    button.textContent = "freeze";
    load();
  }

  // follow keeps the table up to date from the server's event stream. A browser cannot send a header
  // with EventSource: the token goes in the URL, which the server accepts for a GET. The browser
  // reconnects by itself; the page says when it is not connected.
  function follow() {
    const live = document.getElementById("live");
    if (events) {
      events.close();
    }
    events = new EventSource("/api/events?token=" + encodeURIComponent(token));
    events.addEventListener("open", () => {
      live.textContent = "live";
    });
    events.addEventListener("error", () => {
      live.textContent = "connection lost: reconnecting…";
    });
    events.addEventListener("release", (e) => {
      const change = JSON.parse(e.data);
      if (change.type === "DELETED") {
        releases.delete(key(change.release));
      } else {
        releases.set(key(change.release), change.release);
      }
      render();
      if (shown && shown.namespace === change.release.namespace && shown.name === change.release.name) {
        show(shown.namespace, shown.name);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("freeze").addEventListener("click", toggleFreeze);
    for (const id of ["filter-namespace", "filter-cloneset", "filter-phase"]) {
      document.getElementById(id).addEventListener("input", render);
    }
    load();
  });
})();
