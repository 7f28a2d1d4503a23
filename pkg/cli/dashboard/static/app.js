// The dashboard's page: a first, minimal table of the releases. Every string of the server's goes into
// the page as text (textContent), never as markup: a release's name, a reason or an image is data.
"use strict";

(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function render(items) {
    const tbody = document.querySelector("#releases tbody");
    tbody.replaceChildren();
    for (const r of items) {
      const row = document.createElement("tr");
      cell(row, r.namespace);
      cell(row, r.name);
      cell(row, r.cloneSet);
      cell(row, r.action);
      cell(row, r.mode);
      cell(row, r.phase);
      cell(row, r.currentBatch > 0 ? r.currentBatch + "/" + r.batches + " " + r.batchPhase : "-");
      cell(row, r.progress.updated + "/" + r.progress.target);
      cell(row, r.waitingFor);
      tbody.appendChild(row);
    }
    document.getElementById("releases").hidden = false;
  }

  async function load() {
    const status = document.getElementById("status");
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
        status.textContent = "Error " + resp.status + ": " + message;
        return;
      }
      const body = await resp.json();
      render(body.items);
      status.textContent = body.items.length + " releases" + (body.truncated ? " (the first ones only)" : "");
    } catch (e) {
      status.textContent = "Error: " + e;
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
