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
