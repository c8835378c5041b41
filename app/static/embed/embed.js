/* Modération — the « Votre commentaire » section in any newsroom page (issue 13).
 *
 * <div data-moderation-story="https://www.journal.fr/article-42" data-title="…"
 *      [data-story-id="42"] [data-sso-token="…"]></div>
 * <script src="https://commentaires.journal.fr/embed.js" async></script>
 *
 * Plain ES2017, no framework, no build step, no request but to our own origin (/api/v1, see
 * docs/embed-api.md). Rendered into a shadow root, styled by a constructed stylesheet (the host's
 * CSP needs no style-src), built node by node (text through textContent only). A guest is known
 * by the token our API hands back on their first comment, kept in the host page's own
 * localStorage and sent as X-Reader-Token: no cookie. README « Le bloc de commentaires ».
 */
(() => {
  "use strict";
  if (window.ModerationEmbed) return; // the script pasted twice

  const script = document.currentScript || document.querySelector("script[src*='/embed.js']");
  const ORIGIN = new URL(script.src, location.href).origin;
  const API = ORIGIN + "/api/v1";
  const CSS = /*CSS*/ ""; // embed.css, put here by the server (app/reader/embed.py)
  const SELECTOR = "[data-moderation-story]";
  const REASONS = [
    ["insulte", "Insulte"],
    ["haine", "Haine"],
    ["menace", "Menace"],
    ["spam", "Spam"],
    ["hors_sujet", "Hors sujet"],
    ["autre", "Autre"],
  ];
  const BADGES = {
    pending: "En cours de vérification — vous seul le voyez pour l’instant.",
    held: "En attente de modération — vous seul le voyez pour l’instant.",
    nudged: "En attente de votre réponse — ",
    rejected: "Non publié — refusé par la modération.",
  };
  const NETWORK =
    "Le serveur des commentaires ne répond pas. Vérifiez votre connexion puis réessayez.";
  // No answer to read (the network, or a refusal without CORS headers from an older server).
  const ASKED =
    "Pour recevoir les réponses par courriel, confirmez votre adresse : si elle ne l’est pas " +
    "déjà, nous vous avons écrit.";
  const UNREACHABLE = "Les commentaires n’ont pas pu être chargés. Réessayez dans un instant.";
  const mounted = new Set();

  // ---- storage: the host page's own localStorage (first-party), memory when refused ----
  const memory = {};
  const KEY = "moderation:" + ORIGIN + ":";
  const store = {
    get(name) {
      try {
        return localStorage.getItem(KEY + name);
      } catch (e) {
        return memory[name] || null;
      }
    },
    set(name, value) {
      memory[name] = value;
      try {
        if (value == null) localStorage.removeItem(KEY + name);
        else localStorage.setItem(KEY + name, value);
      } catch (e) {
        /* storage refused (private mode): this page's memory only */
      }
    },
  };
  const ssoSession = () => {
    try {
      const session = JSON.parse(store.get("sso") || "null");
      if (session && (!session.exp || Date.parse(session.exp) > Date.now())) return session;
    } catch (e) {
      /* unreadable: dropped below */
    }
    store.set("sso", null);
    return null;
  };
  const readerToken = () => {
    const session = ssoSession();
    return session ? session.token : store.get("guest");
  };

  const keepGuestToken = (answer) => {
    if (answer.reader_token && !ssoSession()) store.set("guest", answer.reader_token);
  };

  // ---- the API: one error shape {error: {code, message, field}} ----
  class ApiFailure extends Error {
    constructor(status, error) {
      super((error && error.message) || NETWORK);
      this.status = status;
      this.code = (error && error.code) || (status ? "error" : "network");
      this.field = (error && error.field) || null;
    }
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = readerToken();
    if (token) headers["X-Reader-Token"] = token;
    if (body) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        credentials: "omit",
        mode: "cors",
      });
    } catch (e) {
      throw new ApiFailure(0, null);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      /* not JSON: a proxy's page */
    }
    if (!response.ok) {
      if (
        response.status === 401 &&
        data &&
        data.error &&
        data.error.code === "invalid_reader_token"
      ) {
        store.set(ssoSession() ? "sso" : "guest", null); // expired: the next try starts afresh
      }
      throw new ApiFailure(response.status, data && data.error);
    }
    return { status: response.status, data: data || {} };
  }

  const query = (params) =>
    Object.keys(params)
      .filter((k) => params[k] != null && params[k] !== "")
      .map((k) => encodeURIComponent(k) + "=" + encodeURIComponent(params[k]))
      .join("&");

  const newKey = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
      (b + 256).toString(16).slice(1),
    ).join("");

  // ---- single sign-on: a CMS token exchanged once for our reader token ----
  function tokenUser(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      const user = JSON.parse(new TextDecoder().decode(bytes)).user;
      return user && user.id != null ? String(user.id) : null;
    } catch (e) {
      return null;
    }
  }

  const exchanges = {};
  function exchange(jwt) {
    if (!exchanges[jwt]) {
      exchanges[jwt] = call("POST", "/sso/session", { token: jwt }).then(({ data }) => {
        store.set(
          "sso",
          JSON.stringify({ token: data.reader_token, exp: data.expires_at, user: tokenUser(jwt) }),
        );
        return data.reader;
      });
    }
    return exchanges[jwt];
  }

  function needsExchange(jwt) {
    const session = ssoSession();
    return !session || session.user == null || session.user !== tokenUser(jwt);
  }

  // ---- building nodes (never markup from data) ----
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) {
      const value = attrs[name];
      if (value == null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child != null && child !== false) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  const number = (n) => n.toLocaleString("fr-FR");
  const plural = (n, word) => number(n) + " " + word + (n > 1 ? "s" : "");
  const dateText = (iso) =>
    new Date(iso).toLocaleString("fr-FR", {
      day: "numeric",
      month: "long",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });

  function paragraphs(text) {
    return text
      .trim()
      .split(/\n\s*\n/)
      .filter((block) => block.trim())
      .map((block) => {
        const p = h("p");
        block.split("\n").forEach((line, i) => {
          if (i) p.append(h("br"));
          p.append(line);
        });
        return p;
      });
  }

  let sheet = null;
  function adopt(root) {
    if ("adoptedStyleSheets" in Document.prototype && window.CSSStyleSheet) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", null, CSS)); // older browsers (the host's CSP may then refuse it)
    }
  }

  // A field: its label, input, help and error, tied together for screen readers.
  function field(id, label, input, help) {
    const error = h("p", { class: "field__error", id: id + "-erreur", hidden: true });
    input.id = id;
    input.classList.add("field__input");
    if (help) input.setAttribute("aria-describedby", id + "-aide");
    const wrapper = h(
      "div",
      { class: "field" },
      h("label", { class: "field__label", for: id }, label),
      input,
      help && h("p", { class: "field__help", id: id + "-aide" }, help),
      error,
    );
    wrapper.input = input;
    wrapper.error = error;
    return wrapper;
  }

  function bodyField(id, label, max, value, extra) {
    const count = h("span", { class: "field__count" });
    const input = h("textarea", { name: "body", rows: 6, maxlength: max });
    input.value = value || "";
    const update = () => {
      count.textContent = " (" + number([...input.value].length) + " / " + number(max) + ")";
    };
    input.addEventListener("input", update);
    update();
    return field(id, label, input, [
      "Au plus " + number(max) + " caractères",
      count,
      "." + (extra || ""),
    ]);
  }

  // Errors next to their field (the API names it), or at the top of the form.
  const inputsOf = (wrapper) =>
    wrapper.input ? [wrapper.input] : [...wrapper.querySelectorAll("input")];

  function clearErrors(form) {
    Object.values(form.fields).forEach((wrapper) => {
      wrapper.classList.remove("field--error");
      wrapper.error.hidden = true;
      for (const input of inputsOf(wrapper)) {
        input.removeAttribute("aria-invalid");
        const described = (input.getAttribute("aria-describedby") || "")
          .split(" ")
          .filter((id) => id && !id.endsWith("-erreur"))
          .join(" ");
        if (described) input.setAttribute("aria-describedby", described);
        else input.removeAttribute("aria-describedby");
      }
    });
    form.errors.hidden = true;
    form.errors.textContent = "";
  }

  function showError(form, failure) {
    const wrapper = failure.field && form.fields[failure.field];
    if (wrapper) {
      const inputs = inputsOf(wrapper);
      wrapper.classList.add("field--error");
      wrapper.error.textContent = failure.message;
      wrapper.error.hidden = false;
      for (const input of inputs) {
        input.setAttribute("aria-invalid", "true");
        const described = input.getAttribute("aria-describedby");
        input.setAttribute(
          "aria-describedby",
          (described ? described + " " : "") + wrapper.error.id,
        );
      }
      inputs[0].focus();
    } else {
      form.errors.textContent = failure.message;
      form.errors.hidden = false;
    }
  }

  function makeForm(cls, label, fields, children, onsubmit) {
    const errors = h("p", { class: "form-errors", role: "alert", hidden: true });
    let busy = false;
    const form = h("form", { class: cls, novalidate: true, "aria-label": label }, errors, children);
    form.errors = errors;
    form.fields = fields;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return; // a double click sends once
      busy = true;
      const button = form.querySelector("[type=submit]");
      button.setAttribute("aria-disabled", "true");
      clearErrors(form);
      try {
        await onsubmit();
      } catch (failure) {
        if (!(failure instanceof ApiFailure)) throw failure;
        showError(form, failure);
      } finally {
        busy = false;
        button.removeAttribute("aria-disabled");
      }
    });
    return form;
  }

  // ---- one embed: a host element and its shadow root ----
  function mount(host) {
    if (host.shadowRoot) return; // mounted already (or another script's element)
    host.replaceChildren(); // the newsroom's link for readers without JavaScript
    const root = host.attachShadow({ mode: "open" });
    adopt(root);
    const embed = { host, root, load: () => load(embed) };
    mounted.add(embed);
    load(embed);
  }

  async function load(embed) {
    const { host, root } = embed;
    const ui = {
      title: h("h2", { class: "comments__title", id: "titre-commentaires" }, "Votre commentaire"),
      live: h("p", { class: "outcome", role: "status" }),
    };
    const section = h(
      "section",
      { class: "moderation comments", "aria-labelledby": "titre-commentaires" },
      ui.title,
    );
    root.replaceChildren(section);
    const jwt = host.getAttribute("data-sso-token");
    try {
      if (jwt && needsExchange(jwt)) await exchange(jwt);
    } catch (failure) {
      if (!(failure instanceof ApiFailure)) throw failure;
      section.append(h("p", { class: "comments__refused", role: "alert" }, failure.message));
    }
    let data;
    try {
      data = (
        await call(
          "GET",
          "/stream?" +
            query({
              url: host.getAttribute("data-moderation-story") || location.href.split("#")[0],
              title: host.getAttribute("data-title") || document.title,
              id: host.getAttribute("data-story-id"),
            }),
        )
      ).data;
    } catch (failure) {
      if (!(failure instanceof ApiFailure)) throw failure;
      section.append(
        h(
          "p",
          { class: "comments__refused", role: "alert" },
          failure.status ? failure.message : UNREACHABLE,
        ),
        failure.status === 0 || failure.status >= 500
          ? h(
              "button",
              { type: "button", class: "button button--secondary", onclick: embed.load },
              "Réessayer",
            )
          : null,
      );
      return;
    }
    render(embed, section, ui, data);
  }

  function render(embed, section, ui, data) {
    const story = data.story;
    const viewer = data.viewer;
    const signedIn = !!(viewer && viewer.signed_in);
    const canPost = story.open && (signedIn || story.guests_allowed);
    const state = { sort: "newest", cursor: data.next_cursor, count: story.counts.published };
    const list = h("ol", { class: "comment-list" });
    const empty = h(
      "p",
      { class: "comments__empty" },
      "Aucun commentaire pour l’instant. Soyez le premier à réagir.",
    );
    const count = h("p", { class: "comments__count" });
    const more = h(
      "button",
      { type: "button", class: "button button--secondary", onclick: () => page(false) },
      "Voir plus de commentaires",
    );
    const moreBox = h("p", { class: "comments__more" }, more);
    const sortButtons = {};
    const formSlot = h("div");
    const warningSlot = h("div", { class: "warnings" });
    let reportOpen = null;

    const announce = (message, kind) => {
      ui.live.className = "outcome" + (kind ? " outcome--" + kind : "");
      ui.live.textContent = "";
      window.setTimeout(() => (ui.live.textContent = message || ""), 50);
    };
    const kind = (status) =>
      status === "published" ? "success" : status === "rejected" ? "error" : null;
    const refreshCount = () => {
      count.textContent = plural(state.count, "commentaire");
      empty.hidden = list.children.length > 0;
      moreBox.hidden = !state.cursor;
    };

    // -- the comments --
    function badge(c) {
      if (c.status === "published" || !c.own) return null;
      const cls = "comment__status" + (c.status === "rejected" ? " comment__status--rejected" : "");
      if (c.status === "nudged") {
        return h(
          "p",
          { class: cls },
          BADGES.nudged,
          h(
            "button",
            { type: "button", class: "link-button", onclick: () => openNudge(c) },
            "relisez-le avant l’envoi",
          ),
          ".",
        );
      }
      if (c.status === "rejected") {
        return h(
          "p",
          { class: cls },
          c.message || BADGES.rejected,
          c.statement_url ? " " : null,
          c.statement_url
            ? h("a", { href: c.statement_url, target: "_blank", rel: "noopener" }, "Pourquoi ?")
            : null,
          h("span", { class: "visually-hidden" }, " Vous seul voyez ce commentaire."),
        );
      }
      return h(
        "p",
        { class: cls, role: c.status === "pending" ? "status" : null },
        BADGES[c.status] || BADGES.held,
      );
    }

    function commentNode(c) {
      const id = "c" + c.id;
      const name = c.author.name;
      const actions = h("p", { class: "comment__actions" });
      const li = h(
        "li",
        {
          class:
            "comment comment--depth-" +
            c.depth +
            (c.status !== "published" ? " comment--own-" + c.status : ""),
        },
        c.removed
          ? h(
              "article",
              { id, tabindex: -1, class: "comment--removed" },
              h("p", { class: "comment__placeholder" }, c.removed),
            )
          : h(
              "article",
              { id, tabindex: -1, "aria-labelledby": id + "-auteur" },
              h(
                "header",
                { class: "comment__meta" },
                h("span", { class: "comment__author", id: id + "-auteur" }, h("bdi", null, name)),
                h("time", { datetime: c.created_at }, dateText(c.created_at)),
                c.edited_at ? h("span", { class: "comment__edited" }, "(modifié)") : null,
                c.featured
                  ? h("span", { class: "comment__featured" }, "Choix de la rédaction")
                  : null,
              ),
              badge(c),
              h("div", { class: "comment__body" }, paragraphs(c.body)),
              c.status === "published" ? actions : null,
              c.own ? ownActions(c) : null,
            ),
      );
      li.dataset.id = c.id;
      li.comment = c;
      if (canPost && !c.removed) {
        actions.append(
          h(
            "button",
            {
              type: "button",
              class: "link-button",
              "aria-label": "Répondre à " + name,
              onclick: (e) => replyTo(li, e.currentTarget),
            },
            "Répondre",
          ),
        );
      }
      if (!c.own && !c.removed && c.status === "published") {
        actions.append(likeButton(c, name));
      } else if (c.own && c.likes) {
        actions.append(h("span", { class: "comment__likes" }, c.likes + " j’aime"));
      }
      if (c.reportable) {
        actions.append(
          h(
            "button",
            {
              type: "button",
              class: "link-button comment__report",
              "aria-label": "Signaler le commentaire de " + name,
              onclick: (e) => report(li, e.currentTarget),
            },
            "Signaler",
          ),
        );
      }
      if (c.replies && c.replies.length) {
        li.append(
          h("ol", { class: "comment-list comment-list--replies" }, c.replies.map(commentNode)),
        );
      }
      if (c.status === "pending" && c.own) watch(c);
      return li;
    }

    // -- « J'aime »: a toggle (aria-pressed), the count beside it --
    function likeButton(c, name) {
      const label = () => "J’aime" + (c.likes ? " · " + c.likes : "");
      const button = h(
        "button",
        {
          type: "button",
          class: "link-button comment__like",
          "aria-pressed": String(Boolean(c.liked)),
          "aria-label": "J’aime le commentaire de " + name,
        },
        label(),
      );
      button.addEventListener("click", async () => {
        if (button.getAttribute("aria-disabled") === "true") return;
        button.setAttribute("aria-disabled", "true");
        try {
          const { data } = await call(c.liked ? "DELETE" : "POST", "/comments/" + c.id + "/like");
          keepGuestToken(data);
          c.likes = data.likes;
          c.liked = data.liked;
          button.setAttribute("aria-pressed", String(data.liked));
          button.textContent = label();
        } catch (failure) {
          announce(failure.message, "error");
        } finally {
          button.removeAttribute("aria-disabled");
        }
      });
      return button;
    }

    // -- the author's own comment: « Modifier » (within the window), « Supprimer » --
    const editable = (c) => c.editable_until && Date.parse(c.editable_until) > Date.now();

    function ownActions(c) {
      const box = h("p", { class: "comment__actions comment__actions--own" });
      if (editable(c)) {
        box.append(
          h(
            "button",
            { type: "button", class: "link-button", onclick: () => editOwn(c) },
            "Modifier",
          ),
        );
      }
      box.append(
        h(
          "button",
          { type: "button", class: "link-button", onclick: () => confirmDelete(c) },
          "Supprimer",
        ),
      );
      return box;
    }

    function editOwn(c) {
      const li = findNode(c.id);
      const article = li && li.querySelector(":scope > article");
      if (!article) return;
      const text = bodyField(
        "modification-" + c.id,
        "Votre commentaire, modifié",
        story.max_length,
        c.body,
      );
      const cancel = h(
        "button",
        { type: "button", class: "button button--secondary", onclick: () => place(c) },
        "Annuler",
      );
      const box = makeForm(
        "comment-form",
        "Modifier votre commentaire",
        { body: text },
        [
          text,
          h("button", { type: "submit", class: "button" }, "Enregistrer la modification"),
          cancel,
        ],
        () =>
          call("PATCH", "/comments/" + c.id, { body: text.input.value }).then(({ data }) => {
            if (c.status === "published" && data.comment.status !== "published") state.count -= 1;
            outcome(data);
          }),
      );
      article.replaceChildren(box);
      text.input.focus();
    }

    function confirmDelete(c) {
      const li = findNode(c.id);
      const box = li && li.querySelector(":scope > article > .comment__actions--own");
      if (!box) return;
      const yes = h(
        "button",
        {
          type: "button",
          class: "button button--danger",
          onclick: async () => {
            try {
              await call("DELETE", "/comments/" + c.id);
            } catch (failure) {
              announce("Le commentaire n’a pas pu être supprimé. Réessayez.", "error");
              return;
            }
            if (c.status === "published") state.count -= 1;
            const replies = li.querySelector(":scope > .comment-list--replies");
            if (replies) {
              li.querySelector(":scope > article").replaceWith(
                h(
                  "article",
                  { id: "c" + c.id, tabindex: -1, class: "comment--removed" },
                  h(
                    "p",
                    { class: "comment__placeholder" },
                    "Commentaire supprimé à la demande de son auteur.",
                  ),
                ),
              );
            } else {
              li.remove();
            }
            refreshCount();
            announce("Votre commentaire est supprimé.", "success");
          },
        },
        "Oui, supprimer",
      );
      box.replaceChildren(
        "Supprimer ce commentaire ? ",
        yes,
        " ",
        h(
          "button",
          { type: "button", class: "link-button", onclick: () => place(c) },
          "Annuler",
        ),
      );
      yes.focus();
    }

    const findNode = (id) => list.querySelector("li[data-id='" + Number(id) + "']");

    function place(c) {
      // The viewer's new or changed comment: in place, under its parent, or first.
      const node = commentNode(c);
      const old = findNode(c.id);
      if (old) {
        const replies = old.querySelector(":scope > .comment-list--replies");
        if (replies && !node.querySelector(":scope > .comment-list--replies")) node.append(replies);
        old.replaceWith(node);
      } else if (c.parent_id && findNode(c.parent_id)) {
        const parent = findNode(c.parent_id);
        if (parent.comment.depth >= 2) {
          parent.after(node); // shown beside a last-level comment, as on our own page
          refreshCount();
          return node;
        }
        let replies = parent.querySelector(":scope > .comment-list--replies");
        if (!replies) {
          replies = h("ol", { class: "comment-list comment-list--replies" });
          parent.append(replies);
        }
        replies.append(node);
      } else if (state.sort === "newest") {
        list.prepend(node);
      } else {
        list.append(node);
      }
      refreshCount();
      return node;
    }

    async function page(first) {
      if (first) {
        reply = null;
        closeReport();
        showForm();
      }
      const params = { sort: state.sort, cursor: first ? null : state.cursor };
      try {
        const { data } = await call("GET", "/stories/" + story.id + "/comments?" + query(params));
        const nodes = data.comments.map(commentNode);
        if (first) list.replaceChildren(...nodes);
        else list.append(...nodes);
        state.cursor = data.next_cursor;
        refreshCount();
        if (!first && nodes.length) nodes[0].querySelector("article").focus();
      } catch (failure) {
        if (!(failure instanceof ApiFailure)) throw failure;
        announce(failure.message, "error");
      }
    }

    function sortBy(sort) {
      if (state.sort === sort) return;
      state.sort = sort;
      for (const key in sortButtons)
        sortButtons[key].setAttribute("aria-pressed", String(key === sort));
      page(true);
    }

    // A pending comment: asked about until decided, as the bundled page does.
    const watched = new Set();
    function watch(c) {
      if (watched.has(c.id)) return;
      watched.add(c.id);
      let tries = 0;
      const ask = async () => {
        tries += 1;
        let answer = null;
        try {
          answer = (await call("GET", "/comments/" + c.id)).data;
        } catch (failure) {
          if (!(failure instanceof ApiFailure)) throw failure;
        }
        const now = answer && answer.comment;
        if (!now || now.status === "pending") {
          if (tries < 60) window.setTimeout(ask, Math.min(1000 * tries, 5000));
          return;
        }
        watched.delete(c.id);
        if (!findNode(c.id)) return;
        if (now.status === "published") state.count += 1;
        place(now);
        if (now.status === "nudged") showNudge(now, answer.nudge);
        else announce(answer.message, kind(now.status));
      };
      window.setTimeout(ask, 1000);
    }

    // -- a warning of the moderation, shown above the form until « J'ai compris » --
    const warningIds = new Set();
    function showWarnings(warnings) {
      for (const w of warnings || []) {
        if (warningIds.has(w.id)) continue;
        warningIds.add(w.id);
        const titleId = "titre-avertissement-" + w.id;
        const box = h(
          "div",
          { class: "warning-notice", role: "alert", "aria-labelledby": titleId },
          h("h3", { id: titleId, class: "warning-notice__title" }, "Un message de la modération"),
          h("p", { class: "warning-notice__reason" }, "Motif : " + w.reason),
          h("blockquote", { class: "warning-notice__message" }, paragraphs(w.message)),
          h(
            "p",
            { class: "warning-notice__help" },
            "Vous pouvez continuer à commenter ; mais si vos commentaires continuent " +
              "d’enfreindre les règles du site, votre participation pourra être suspendue.",
          ),
        );
        const button = h("button", { type: "button", class: "button" }, "J’ai compris");
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            await call("POST", "/warnings/" + w.id + "/acknowledge");
            box.remove();
            announce("Merci : ce message ne vous sera plus montré.");
          } catch (failure) {
            button.disabled = false;
            if (!(failure instanceof ApiFailure)) throw failure;
            announce(failure.message, "error");
          }
        });
        box.append(button);
        warningSlot.append(box);
      }
    }

    // What became of a comment just sent (posted, revised, sent as it is).
    function outcome(answer, asked) {
      const c = answer.comment;
      keepGuestToken(answer);
      showWarnings(answer.warnings);
      if (c.status === "nudged") {
        if (findNode(c.id)) place(c);
        showNudge(c, answer.nudge);
        return;
      }
      reply = null;
      showForm();
      if (c.status === "published" && !findNode(c.id)) state.count += 1;
      const node = place(c);
      const told = signedIn ? "Vous serez prévenu par courriel des réponses." : ASKED;
      announce(answer.message + (asked ? " " + told : ""), kind(c.status));
      node.querySelector("article").focus();
    }

    // -- the form (moved under a comment to answer it) --
    let reply = null;
    let key = null;
    const replyLine = h("p", { class: "comment-form__reply", hidden: true });
    const body = bodyField(
      "commentaire",
      "Commentaire",
      story.max_length,
      "",
      " Restez courtois : les commentaires sont relus.",
    );
    body.input.addEventListener("input", () => (key = null)); // another text, another comment
    const fields = { body };
    let identity = null;
    // « Me prévenir par courriel des réponses »: a guest confirms their address first.
    const notifyBox = h("input", {
      type: "checkbox",
      name: "notify_replies",
      "aria-describedby": "notifier-aide",
    });
    const notify = h(
      "div",
      { class: "field" },
      h("label", { class: "choice" }, notifyBox, " Me prévenir par courriel des réponses"),
      h(
        "p",
        { class: "field__help", id: "notifier-aide" },
        signedIn
          ? "À l’adresse de votre compte ; chaque courriel permet de se désabonner."
          : "Une seule fois, nous vous demanderons de confirmer votre adresse.",
      ),
    );
    if (signedIn) {
      identity = h(
        "div",
        null,
        h(
          "p",
          { class: "comment-form__as" },
          "Vous publiez en tant que ",
          h("strong", null, h("bdi", null, viewer.name)),
          ".",
        ),
        notify,
      );
    } else if (story.guests_allowed) {
      fields.name = field(
        "nom",
        "Nom",
        h("input", { name: "name", autocomplete: "name", maxlength: 80 }),
      );
      fields.email = field(
        "courriel",
        "Adresse de messagerie",
        h("input", { name: "email", type: "email", autocomplete: "email", maxlength: 254 }),
        "Elle ne sera jamais publiée.",
      );
      if (viewer && viewer.name) fields.name.input.value = viewer.name;
      identity = h(
        "div",
        null,
        h("div", { class: "comment-form__identity" }, fields.name, fields.email),
        notify,
      );
      for (const f of [fields.name, fields.email])
        f.input.addEventListener("input", () => (key = null));
    }
    const draftNudge = h("div", {
      class: "nudge draft-nudge",
      role: "status",
      "aria-live": "polite",
      hidden: true,
    });
    if (story.nudge) watchDraft(body.input, draftNudge);
    const form = makeForm(
      "comment-form",
      "Votre commentaire",
      fields,
      [
        replyLine,
        body,
        identity,
        draftNudge,
        h("button", { type: "submit", class: "button" }, "Publier le commentaire"),
      ],
      async () => {
        const payload = { body: body.input.value, idempotency_key: (key = key || newKey()) };
        if (fields.name) {
          payload.name = fields.name.input.value;
          payload.email = fields.email.input.value;
        }
        if (identity) payload.notify_replies = notifyBox.checked;
        if (reply) payload.parent_id = reply.comment.id;
        try {
          const { data } = await call("POST", "/stories/" + story.id + "/comments", payload);
          key = null;
          body.input.value = "";
          body.input.dispatchEvent(new Event("input"));
          outcome(data, payload.notify_replies);
        } catch (failure) {
          if (failure.status) key = null; // answered: a new try is a new comment
          throw failure;
        }
      },
    );

    // With nudges on, the draft is scored while the reader pauses typing (one request at a
    // time): the nudge shows before they send, and posting the same text reuses that score.
    function watchDraft(input, box) {
      let timer = null;
      let busy = false;
      let again = false;
      let asked = null;
      const show = (nudge) => {
        box.hidden = !nudge;
        box.replaceChildren(
          ...(nudge
            ? [
                h("p", { class: "nudge__title" }, "Avant d’envoyer votre commentaire…"),
                h("p", { class: "nudge__text" }, nudge.message),
              ]
            : []),
        );
      };
      const ask = async () => {
        const text = input.value.trim();
        if (!text) {
          asked = null;
          show(null);
          return;
        }
        if (text === asked) return;
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        asked = text;
        try {
          const { data } = await call("POST", "/stories/" + story.id + "/drafts", {
            body: input.value,
          });
          if (input.value.trim() === text) show(data.nudge);
        } catch (failure) {
          if (!failure.status) asked = null; // the network: the next pause asks again
        }
        busy = false;
        if (again) {
          again = false;
          ask();
        }
      };
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(ask, 700);
      });
    }

    function replyTo(li, button) {
      closeReport();
      clearErrors(form);
      reply = li;
      replyLine.replaceChildren(
        "En réponse à ",
        h("bdi", null, li.comment.author.name),
        " — ",
        h(
          "button",
          { type: "button", class: "link-button", onclick: () => cancelReply(button) },
          "annuler la réponse",
        ),
      );
      replyLine.hidden = false;
      showForm();
      li.querySelector("article").after(form);
      body.input.focus();
    }

    function cancelReply(button) {
      reply = null;
      replyLine.hidden = true;
      showForm();
      if (button && button.isConnected) button.focus();
      else body.input.focus();
    }

    function showForm() {
      if (!story.open) {
        formSlot.replaceChildren(
          h("p", { class: "comments__closed" }, "Les commentaires sont fermés pour cet article."),
        );
      } else if (!canPost) {
        formSlot.replaceChildren(
          h(
            "p",
            { class: "comment-form__account" },
            "Pour publier un commentaire, connectez-vous à votre compte sur ce site.",
          ),
        );
      } else if (reply) {
        formSlot.replaceChildren(); // the form is under the comment it answers
      } else {
        replyLine.hidden = true;
        formSlot.replaceChildren(form);
      }
    }

    // -- the nudge: rewrite, or send as it is --
    async function openNudge(c) {
      try {
        const { data } = await call("GET", "/comments/" + c.id); // its categories, its terms
        if (data.comment.status === "nudged") showNudge(data.comment, data.nudge);
        else place(data.comment);
      } catch (failure) {
        if (!(failure instanceof ApiFailure)) throw failure;
        announce(failure.message, "error");
      }
    }

    function showNudge(c, nudge) {
      reply = null;
      announce("");
      const left = nudge ? nudge.revisions_left : null;
      const revised = bodyField(
        "reformulation",
        "Votre commentaire, reformulé",
        story.max_length,
        c.body,
      );
      const title = h(
        "h3",
        { class: "nudge__title", id: "titre-nudge", tabindex: -1 },
        "Avant d’envoyer votre commentaire…",
      );
      const done = ({ data }) => outcome(data);
      const revise =
        left === 0
          ? null
          : makeForm(
              "comment-form",
              "Reformuler",
              { body: revised },
              [
                revised,
                h("button", { type: "submit", class: "button" }, "Envoyer la version modifiée"),
              ],
              () =>
                call("POST", "/comments/" + c.id + "/revise", { body: revised.input.value }).then(
                  done,
                ),
            );
      const anyway = makeForm(
        "actions",
        "Envoyer tel quel",
        {},
        [h("button", { type: "submit", class: "button button--secondary" }, "Envoyer tel quel")],
        () => call("POST", "/comments/" + c.id + "/send").then(done),
      );
      formSlot.replaceChildren(
        h(
          "div",
          { class: "nudge", "aria-labelledby": "titre-nudge" },
          title,
          h(
            "p",
            { class: "nudge__text", role: "alert" },
            (nudge && nudge.message) || c.message || "",
          ),
          revise,
          anyway,
        ),
      );
      title.focus();
    }

    // -- « Signaler »: under the comment, one at a time --
    function closeReport() {
      if (reportOpen) reportOpen.remove();
      reportOpen = null;
    }

    function report(li, button) {
      closeReport();
      const reason = h(
        "fieldset",
        { class: "field" },
        h("legend", { class: "field__label" }, "Raison du signalement"),
        REASONS.map(([code, label]) =>
          h(
            "label",
            { class: "choice" },
            h("input", { type: "radio", name: "reason", value: code }),
            " " + label,
          ),
        ),
      );
      reason.error = h("p", { class: "field__error", id: "signalement-erreur", hidden: true });
      reason.append(reason.error);
      const note = field(
        "precisions",
        "Précisions (facultatif)",
        h("textarea", { name: "note", rows: 3, maxlength: 1000 }),
      );
      const cancel = () => {
        closeReport();
        button.focus();
      };
      const box = makeForm(
        "report",
        "Signaler le commentaire de " + li.comment.author.name,
        { reason, note },
        [
          reason,
          note,
          h(
            "div",
            { class: "actions" },
            h("button", { type: "submit", class: "button" }, "Envoyer le signalement"),
            h(
              "button",
              { type: "button", class: "button button--secondary", onclick: cancel },
              "Annuler",
            ),
          ),
        ],
        async () => {
          const chosen = reason.querySelector("input:checked");
          const asked = { note: note.input.value };
          if (chosen) asked.reason = chosen.value; // none chosen: the API says it is needed
          const { data } = await call("POST", "/comments/" + li.comment.id + "/reports", asked);
          keepGuestToken(data);
          cancel();
          announce(data.message);
        },
      );
      reportOpen = box;
      li.querySelector("article").after(box);
      reason.querySelector("input").focus();
    }

    // -- the section --
    const sortGroup = h(
      "div",
      { class: "comments__sort", role: "group", "aria-labelledby": "tri" },
      h("span", { id: "tri" }, "Trier :"),
    );
    for (const [sort, label] of [
      ["newest", "Les plus récents"],
      ["oldest", "Les plus anciens"],
      ["liked", "Les plus appréciés"],
      ...(story.counts.featured
        ? [["featured", "Choix de la rédaction (" + story.counts.featured + ")"]]
        : []),
    ]) {
      sortButtons[sort] = h(
        "button",
        {
          type: "button",
          class: "link-button",
          "aria-pressed": String(sort === state.sort),
          onclick: () => sortBy(sort),
        },
        label,
      );
      sortGroup.append(sortButtons[sort]);
    }
    // « Choix de la rédaction », shown first: a block above the comments.
    const chosen = h("section", {
      class: "featured",
      "aria-labelledby": "choix-redaction",
      hidden: true,
    });
    if (story.counts.featured) {
      call("GET", "/stories/" + story.id + "/comments?" + query({ sort: "featured", limit: 5 }))
        .then(({ data: picked }) => {
          if (!picked.comments.length) return;
          chosen.replaceChildren(
            h("h3", { id: "choix-redaction", class: "featured__title" }, "Choix de la rédaction"),
            h(
              "ul",
              { class: "featured__list" },
              picked.comments.map((c) =>
                h(
                  "li",
                  null,
                  h("blockquote", { class: "featured__quote" }, paragraphs(c.body)),
                  h("p", { class: "featured__meta" }, "— ", h("bdi", null, c.author.name)),
                ),
              ),
            ),
          );
          chosen.hidden = false;
        })
        .catch(() => {}); // the list below says it all anyway
    }
    section.append(
      warningSlot,
      formSlot,
      ui.live,
      h("div", { class: "comments__bar" }, count, sortGroup),
      chosen,
      list,
      empty,
      moreBox,
    );
    list.append(...data.comments.map(commentNode));
    showForm();
    refreshCount();
    if (viewer) showWarnings(viewer.warnings);
  }

  // ---- start: every element there now, and those added later ----
  const scan = (node) => {
    if (node.matches && node.matches(SELECTOR)) mount(node);
    if (node.querySelectorAll) node.querySelectorAll(SELECTOR).forEach(mount);
  };
  const start = () => {
    scan(document);
    new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(scan))).observe(
      document.documentElement,
      { childList: true, subtree: true },
    );
  };
  const reloadAll = () => mounted.forEach((embed) => embed.load());

  window.ModerationEmbed = Object.freeze({
    /** Sign a newsroom reader in with the CMS's token; resolves to {name}. */
    login(jwt) {
      return exchange(jwt).then((reader) => {
        reloadAll();
        return reader;
      });
    },
    /** Forget the signed-in reader (the guest's own token stays). */
    logout() {
      store.set("sso", null);
      reloadAll();
    },
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
