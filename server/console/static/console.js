// sluice console: the few things that need script. Every page works
// without it; this adds confirmations and the live verdict list. Message
// data is only ever put in the page with textContent, never as HTML.
"use strict";

document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});

function clock(iso) {
  var d = new Date(iso);
  return d.toTimeString().slice(0, 8);
}

function cell(tr, text, href) {
  var td = document.createElement("td");
  if (href) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    td.appendChild(a);
  } else {
    td.textContent = text;
  }
  tr.appendChild(td);
}

function live() {
  var table = document.getElementById("verdicts");
  if (!table || !window.EventSource) {
    return;
  }
  var params = new URLSearchParams();
  if (table.dataset.action) { params.set("action", table.dataset.action); }
  if (table.dataset.q) { params.set("q", table.dataset.q); }
  var es = new EventSource("/events?" + params.toString());
  var body = table.tBodies[0];
  es.onopen = function () { table.dataset.live = "open"; };
  es.onerror = function () { table.dataset.live = "retrying"; };
  es.addEventListener("verdict", function (ev) {
    var v = JSON.parse(ev.data);
    var tr = document.createElement("tr");
    tr.className = v.action;
    tr.dataset.id = v.id;
    cell(tr, clock(v.time), "/verdicts/" + encodeURIComponent(v.id));
    cell(tr, v.action);
    cell(tr, v.ip);
    cell(tr, v.mail_from);
    cell(tr, (v.rcpt || []).join(", "));
    cell(tr, v.subject || "");
    cell(tr, (v.rules || []).map(function (r) { return r.name; }).join(" "));
    body.insertBefore(tr, body.firstChild);
    var empty = document.querySelector("p.empty");
    if (empty) { empty.remove(); }
    while (body.rows.length > 200) { body.deleteRow(-1); }
  });
}

document.addEventListener("DOMContentLoaded", live);
