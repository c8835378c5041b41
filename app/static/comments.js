// Progressive enhancement: a comment still being checked tells its author when it is decided,
// without a full reload. Without JavaScript the page says « en cours de vérification » and a
// reload shows the outcome.
(function () {
  "use strict";
  var badges = document.querySelectorAll("[data-status-url]");
  badges.forEach(function (badge) {
    var url = badge.getAttribute("data-status-url");
    var tries = 0;
    function ask() {
      tries += 1;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data || data.status === "pending") {
            if (tries < 60) { window.setTimeout(ask, Math.min(1000 * tries, 5000)); }
            return;
          }
          if (data.status === "nudged") { window.location.assign(data.url); return; }
          badge.removeAttribute("data-status-url");
          badge.textContent = data.message;
          badge.className = "comment__status " + (data.status === "rejected"
            ? "comment__status--rejected" : data.status === "published"
            ? "comment__status--published" : "comment__status--pending");
        })
        .catch(function () { if (tries < 60) { window.setTimeout(ask, 5000); } });
    }
    window.setTimeout(ask, 1000);
  });
})();

// With nudges on, the draft is scored while its author pauses typing (at most one request at
// a time; the server limits how many): the nudge shows before they send, and sending the same
// text reuses that score. Without JavaScript, the nudge comes after sending, as before.
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft-url]");
  if (!form || !window.fetch) { return; }
  var area = form.querySelector("textarea[name=body]");
  var box = form.querySelector(".draft-nudge");
  var csrf = form.querySelector("input[name=csrf_token]");
  var url = form.getAttribute("data-draft-url");
  var PAUSE_MS = 700;
  var timer = null;
  var busy = false;
  var again = false;
  var asked = null;
  function show(nudge) {
    box.textContent = "";
    box.hidden = !nudge;
    if (!nudge) { return; }
    var title = document.createElement("p");
    title.className = "nudge__title";
    title.textContent = "Avant d’envoyer votre commentaire…";
    var text = document.createElement("p");
    text.className = "nudge__text";
    text.textContent = nudge.message;
    box.appendChild(title);
    box.appendChild(text);
  }
  function ask() {
    var text = area.value.trim();
    if (!text) { asked = null; show(null); return; }
    if (text === asked) { return; }
    if (busy) { again = true; return; }
    busy = true;
    asked = text;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify({ body: area.value })
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && area.value.trim() === text) { show(data.nudge); }
      })
      .catch(function () { asked = null; })
      .then(function () {
        busy = false;
        if (again) { again = false; ask(); }
      });
  }
  area.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, PAUSE_MS);
  });
})();
