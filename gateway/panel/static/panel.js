// UDI Edge panel: the few live parts of otherwise server-rendered pages.
// No framework and no inline script (CSP default-src 'self'): everything the
// page needs comes in data-* attributes.
"use strict";
(function () {
  var S = JSON.parse(document.body.getAttribute("data-strings") || "{}");
  var CSRF = document.body.getAttribute("data-csrf") || "";
  function t(k) { return S[k] || k; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function toast(msg, bad) {
    var box = $("#toast");
    if (!box) return;
    box.textContent = msg;
    box.className = "show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.className = ""; }, 5000);
  }
  function stateBadge(state) {
    return el("span", "state s-" + state, t("state." + state));
  }

  // Every form button shows that it was pressed (the page reloads when done);
  // a cancel asks first.
  document.addEventListener("submit", function (ev) {
    var f = ev.target, ask = f.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { ev.preventDefault(); return; }
    var b = f.querySelector("[data-busy]");
    if (b) { b.disabled = true; b.classList.add("busy"); }
  });

  // --- live updates: one EventSource per page -----------------------------------------
  function live(url, onSnap) {
    var badge = $("#live");
    var es = new EventSource(url);
    es.onmessage = function (ev) {
      if (badge) { badge.className = "live on"; badge.textContent = t("dash.live"); }
      onSnap(JSON.parse(ev.data));
    };
    es.onerror = function () {
      // EventSource reconnects by itself; say so meanwhile.
      if (badge) { badge.className = "live off"; badge.textContent = t("dash.offline"); }
    };
    window.addEventListener("pagehide", function () { es.close(); });
  }

  function jobRow(j) {
    var tr = el("tr"); tr.setAttribute("data-job", j.id);
    var a = el("a", null, "#" + j.id); a.href = "/panel/jobs/" + j.id;
    var td = el("td"); td.appendChild(a); tr.appendChild(td);
    tr.appendChild(el("td", null, j.di + (j.lot ? " · " + j.lot : "")));
    tr.appendChild(el("td", null, j.printer));
    td = el("td"); td.appendChild(stateBadge(j.state));
    if (j.reason) { td.appendChild(document.createTextNode(" ")); td.appendChild(el("small", null, j.reason)); }
    tr.appendChild(td);
    td = el("td");
    var p = el("progress"); p.max = j.quantity; p.value = j.printed; td.appendChild(p);
    td.appendChild(document.createTextNode(" "));
    td.appendChild(el("span", "printed", j.printed));
    td.appendChild(document.createTextNode("/" + j.quantity));
    tr.appendChild(td);
    tr.appendChild(el("td", "verified", j.verified));
    tr.appendChild(el("td", "failed", j.failed));
    return tr;
  }

  function dashboard(snap) {
    $("#hh-online").textContent = snap.handhelds.online;
    $("#hh-total").textContent = snap.handhelds.total;
    $("#open-alerts").textContent = snap.alerts;
    $("#alerts-tile").classList.toggle("warn", snap.alerts > 0);
    var body = $("#dash-jobs tbody");
    body.replaceChildren.apply(body, snap.jobs.map(jobRow));
    $("#no-jobs").hidden = snap.jobs.length > 0;
    var ul = $("#dash-printers");
    ul.replaceChildren.apply(ul, snap.printers.map(function (p) {
      var li = el("li"); li.setAttribute("data-printer", p.name);
      li.appendChild(el("b", null, p.name)); li.appendChild(document.createTextNode(" "));
      li.appendChild(stateBadge(p.state)); li.appendChild(document.createTextNode(" "));
      li.appendChild(el("small", null, p.reason || ""));
      return li;
    }));
  }

  function jobPage(snap) {
    var j = snap.job;
    if (!j) return;
    var st = $("#job-state");
    st.className = "state s-" + j.state; st.textContent = t("state." + j.state);
    var r = $("#job-reason"); r.hidden = !j.reason; r.textContent = j.reason || "";
    ["printed", "verified", "failed", "voided"].forEach(function (k) { $("#c-" + k).textContent = j[k]; });
    $("#job-progress").value = j.printed;
    var rec = $("#recon");
    if (j.agrees === true) { rec.className = "ok"; rec.textContent = t("job.agrees") + " (" + t("job.counter") + ": " + j.printer_counter + ")"; }
    else if (j.agrees === false) { rec.className = "bad"; rec.textContent = t("job.disagrees"); }
    else { rec.className = "hint"; rec.textContent = "–"; }
    $("#labels-total").textContent = j.labels_total;
    var body = $("#labels tbody");
    body.replaceChildren.apply(body, j.labels.map(function (l) {
      var tr = el("tr");
      tr.appendChild(el("td", null, l.label_no));
      tr.appendChild(el("td", "code", l.serial));
      tr.appendChild(el("td", null, l.lot || ""));
      var td = el("td"); td.appendChild(stateBadge(l.state)); tr.appendChild(td);
      return tr;
    }));
    $("#no-labels").hidden = j.labels.length > 0;
    // Only the actions that make sense now are enabled.
    var can = { start: ["created"], pause: ["running", "held"], resume: ["paused", "held"],
                cancel: ["created", "running", "held", "paused"] };
    document.querySelectorAll("#job-actions form").forEach(function (f) {
      var b = f.querySelector("button");
      if (!b.classList.contains("busy")) b.disabled = can[f.getAttribute("data-action")].indexOf(j.state) < 0;
    });
  }

  // --- label preview on the new-job form ---------------------------------------------------
  function preview(form) {
    var img = $("#preview"), msg = $("#preview-msg"), timer = null, seq = 0, url = null;
    function draw() {
      var body = {}, mine = ++seq;
      new FormData(form).forEach(function (v, k) { if (k !== "csrf") body[k] = v; });
      msg.textContent = t("job.preview.wait"); msg.className = "hint";
      fetch("/panel/api/preview", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (mine !== seq) return;  // a newer request is on its way
        if (r.ok) return r.blob().then(function (b) {
          if (url) URL.revokeObjectURL(url);
          url = URL.createObjectURL(b);
          img.src = url; img.hidden = false; msg.textContent = ""; msg.className = "";
        });
        return r.json().then(function (e) {
          img.hidden = true; msg.className = "notice bad"; msg.textContent = e.detail || r.statusText;
        });
      }).catch(function () {
        msg.className = "notice bad"; msg.textContent = t("err.network");
      });
    }
    function soon() { clearTimeout(timer); timer = setTimeout(draw, 300); }
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    draw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var d = $("#dash-jobs"), job = $("#job"), form = $("#job-form");
    if (d) live($("#live").getAttribute("data-events"), dashboard);
    if (job) live(job.getAttribute("data-events"), jobPage);
    if (form) preview(form);
  });
})();
