// The moderators' queue: keyboard shortcuts (j/k, a, r, x, o, ?) and news of new comments,
// without losing one's place. Every action also works as a plain form without JavaScript.
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card[data-comment]"));
  var current = -1;
  var csrf = document.querySelector("input[name=csrf_token]");

  function focusCard(index) {
    if (!cards.length) { return; }
    current = Math.max(0, Math.min(index, cards.length - 1));
    cards.forEach(function (c, i) { c.classList.toggle("card--current", i === current); });
    cards[current].focus();
    cards[current].scrollIntoView({ block: "nearest" });
  }

  function notice(card, text, ok) {
    var p = document.createElement("p");
    p.className = "card__notice " + (ok ? "card__notice--ok" : "card__notice--error");
    p.setAttribute("role", "status");
    p.textContent = text;
    card.appendChild(p);
  }

  function submit(form, card) {
    var data = new FormData(form);
    if (form.classList.contains("js-approve")) { data.set("action", "approve"); }
    // getAttribute: a field named "action" in the form would shadow form.action.
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin",
                         headers: { Accept: "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
      .then(function (pair) {
        var response = pair[0], body = pair[1];
        notice(card, body.message || (body.error && body.error.message) || response.statusText,
               response.ok);
        if (response.ok) {
          card.classList.add("card--done");
          var status = card.querySelector(".js-status");
          if (status && body.status) { status.textContent = body.status; }
          card.querySelectorAll("form").forEach(function (f) { f.remove(); });
          var next = cards.indexOf(card) + 1;
          if (next < cards.length) { focusCard(next); }
        }
      })
      .catch(function () { HTMLFormElement.prototype.submit.call(form); });
  }

  cards.forEach(function (card) {
    card.querySelectorAll("form.js-approve, form.js-reject, form.js-keep").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.classList.contains("js-reject") && !form.reason.value) { return; }
        event.preventDefault();
        submit(form, card);
      });
    });
  });

  var help = document.getElementById("aide-clavier");
  document.querySelectorAll(".js-help").forEach(function (b) {
    b.addEventListener("click", function () { if (help) { help.showModal(); } });
  });

  // Single-key shortcuts can be turned off (WCAG 2.1.4); the choice is kept in this browser.
  var SHORTCUTS_KEY = "moderation.shortcuts";
  var shortcutsOn = true;
  try { shortcutsOn = window.localStorage.getItem(SHORTCUTS_KEY) !== "off"; } catch (e) { /* storage blocked */ }
  var toggle = document.querySelector(".js-shortcuts");
  function showShortcuts() {
    if (!toggle) { return; }
    toggle.setAttribute("aria-pressed", shortcutsOn ? "true" : "false");
    toggle.textContent = toggle.getAttribute(shortcutsOn ? "data-on" : "data-off");
  }
  if (toggle) {
    toggle.hidden = false;
    showShortcuts();
    toggle.addEventListener("click", function () {
      shortcutsOn = !shortcutsOn;
      try { window.localStorage.setItem(SHORTCUTS_KEY, shortcutsOn ? "on" : "off"); } catch (e) { /* storage blocked */ }
      showShortcuts();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!shortcutsOn) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var card = cards[current];
    switch (event.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current - 1); break;
      case "a":
        if (card && card.querySelector("form.js-approve")) { submit(card.querySelector("form.js-approve"), card); }
        break;
      case "r":
        if (card && card.querySelector("form.js-reject select")) { card.querySelector("form.js-reject select").focus(); }
        break;
      case "x":
        if (card && card.querySelector(".card__select")) { card.querySelector(".card__select").click(); }
        break;
      case "o":
        if (card) { window.location.assign(card.querySelector(".card__title a").href); }
        break;
      case "?": if (help) { help.showModal(); } break;
      default: return;
    }
    event.preventDefault();
  });

  // Reject with the keyboard: pick a reason in the focused select, Enter sends.
  document.querySelectorAll("form.js-reject select").forEach(function (select) {
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && select.value) {
        event.preventDefault();
        var form = select.form;
        submit(form, form.closest(".card"));
      }
    });
  });

  // News: new comments in this queue, shown as a link rather than a reload.
  var queue = document.querySelector(".queue[data-news-url]");
  if (queue) {
    var newest = queue.getAttribute("data-newest");
    var box = queue.querySelector(".queue__news");
    window.setInterval(function () {
      fetch(queue.getAttribute("data-news-url") + "?depuis=" + newest,
            { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          Object.keys(data.counts).forEach(function (slug) {
            var el = document.querySelector("[data-count='" + slug + "']");
            if (el) { el.textContent = data.counts[slug]; }
          });
          if (data["new"] > 0) {
            box.hidden = false;
            box.querySelector(".js-news-text").textContent = data.message;
          }
        });
    }, 15000);
  }
  if (csrf === null) { return; }
})();
