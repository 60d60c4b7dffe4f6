// Handheld page: while a command is under way (sent, or an OTA reporting
// progress), fetch the recent-commands rows again every 1.5 s, so its
// answer and the OTA percentage show without a reload.  Stops when nothing
// is pending, or after 30 minutes.
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("#commands");
    if (!table) return;
    var body = table.querySelector("tbody"), src = table.getAttribute("data-src");
    var until = Date.now() + 30 * 60 * 1000;
    function pending() { return body.querySelector("tr[data-pending]") !== null; }
    function tick() {
      if (!pending() || Date.now() > until) return;
      fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) body.innerHTML = html; })
        .catch(function () { /* the next round tries again */ })
        .then(function () { setTimeout(tick, 1500); });
    }
    setTimeout(tick, 1500);
  });
})();
