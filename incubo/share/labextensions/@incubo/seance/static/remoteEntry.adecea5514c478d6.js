/*
 * @incubo/seance — the room's séance in the learner's JupyterLab (right side panel).
 *
 * A prebuilt JupyterLab 4 federated extension written by hand: no build step,
 * no framework, no CDN. JupyterLab's bootstrap loads this script, calls
 * `init(shareScope)`, then `get("./extension")()`, whose `default` is the list of
 * plugins. The panel polls `<base>incubo/seance` (incubo.hub.seance_panel)
 * every two seconds; it exists only while a séance is on.
 */
(function () {
  "use strict";

  var SCOPE = "@incubo/seance";
  var POLL_MS = 2000;
  var PANEL_ID = "incubo-seance-panel";

  var CSS = [
    "#incubo-seance-panel { overflow: auto; background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color0, #161616); font-family: var(--jp-ui-font-family, Arial, sans-serif); font-size: var(--jp-ui-font-size1, 13px); line-height: 1.45; }",
    ".incubo-seance { padding: 0 0 1rem 0; }",
    ".incubo-seance h2, .incubo-seance h3 { font-size: 1.05em; margin: .8rem .8rem .3rem; }",
    ".incubo-seance-bandeau { margin: 0; padding: .6rem .8rem; background: #000091; color: #fff; font-size: 1.1em; }",
    ".incubo-seance-bandeau strong { color: #fff; }",
    ".incubo-seance-annonce:empty { display: none; }",
    ".incubo-seance-annonce { margin: .6rem .8rem; padding: .4rem .6rem; border-left: .3rem solid #000091; background: var(--jp-layout-color2, #eee); }",
    ".incubo-seance form { margin: .4rem .8rem; }",
    ".incubo-seance fieldset { border: 1px solid var(--jp-border-color1, #767676); padding: .4rem .6rem; margin: 0 0 .6rem; }",
    ".incubo-seance legend { font-weight: bold; padding: 0 .2rem; }",
    ".incubo-seance-choix { display: block; margin: .25rem 0; }",
    ".incubo-seance input[type=text] { font: inherit; padding: .25rem .4rem; border: 1px solid #666; width: 90%; color: inherit; background: var(--jp-layout-color0, #fff); }",
    ".incubo-seance button { font: inherit; padding: .35rem .9rem; background: #000091; color: #fff; border: 2px solid #000091; border-radius: 2px; cursor: pointer; }",
    ".incubo-seance button:disabled { background: #e5e5e5; color: #3a3a3a; border-color: #929292; cursor: default; }",
    ".incubo-seance a { color: var(--jp-content-link-color, #0b57a4); text-decoration: underline; }",
    ".incubo-seance :focus-visible { outline: 3px solid #0a76f6; outline-offset: 2px; }",
    ".incubo-seance-etat { margin: .4rem 0; font-weight: bold; }",
    ".incubo-seance-etat.erreur { color: #b3000c; }",
    ".incubo-seance-solution { margin: .4rem 0; padding: .3rem .5rem; border-left: .3rem solid #18753c; }",
    ".incubo-seance ul { margin: .2rem .8rem; padding-left: 1.2rem; }"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /* The shell's own Widget class (Lumino), found from the shell itself: exactly the copy the shell uses. */
  function widgetClass(app) {
    var proto = Object.getPrototypeOf(app.shell);
    while (Object.getPrototypeOf(proto) && Object.getPrototypeOf(proto) !== Object.prototype) {
      proto = Object.getPrototypeOf(proto);
    }
    return proto.constructor;
  }

  function cookie(name) {
    var m = document.cookie.match("(^|;)\\s*" + name + "\\s*=\\s*([^;]+)");
    return m ? decodeURIComponent(m[2]) : "";
  }

  function Panel(app) {
    this.app = app;
    this.settings = app.serviceManager.serverSettings;
    this.base = this.settings.baseUrl.replace(/\/?$/, "/");
    this.widget = null;
    this.code = null;
    this.pollKey = null;
    this.seen = null; // notebooks already reachable (name → true), to announce new ones
  }

  Panel.prototype.request = function (path, init) {
    init = init || {};
    init.credentials = "same-origin";
    init.cache = "no-store";
    var headers = init.headers || {};
    var xsrf = cookie("_xsrf");
    if (xsrf) headers["X-XSRFToken"] = xsrf;
    if (this.settings.token) headers["Authorization"] = "token " + this.settings.token;
    init.headers = headers;
    return window.fetch(this.base + path, init);
  };

  Panel.prototype.start = function () {
    var self = this;
    var tick = function () {
      self.request("incubo/seance")
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) self.show(data.seance || null); })
        .catch(function () { /* the server is restarting: try again */ })
        .then(function () { window.setTimeout(tick, POLL_MS); });
    };
    tick();
  };

  Panel.prototype.show = function (seance) {
    if (!seance) {
      if (this.widget) {
        this.widget.dispose();
        this.widget = null;
      }
      this.code = null;
      return;
    }
    if (!this.widget || this.code !== seance.code) this.build(seance);
    this.banner.replaceChildren(
      "Séance en cours : ", el("strong", { text: seance.titre || seance.module }),
      " — code ", el("strong", { text: seance.code })
    );
    this.showSteps(seance);
    this.showPoll(seance);
  };

  Panel.prototype.build = function (seance) {
    if (this.widget) this.widget.dispose();
    if (!document.getElementById("incubo-seance-style")) {
      document.head.appendChild(el("style", { id: "incubo-seance-style", text: CSS }));
    }
    var Widget = widgetClass(this.app);
    var widget = new Widget();
    widget.id = PANEL_ID;
    widget.title.label = "Séance";
    widget.title.caption = "Séance en cours";
    this.banner = el("p", { className: "incubo-seance-bandeau" });
    this.announce = el("div", { className: "incubo-seance-annonce", "aria-live": "polite" });
    this.pollBox = el("div", { className: "incubo-seance-sondage" });
    this.stepList = el("ul", { className: "incubo-seance-etapes" });
    this.optionalTitle = el("h3", { text: "Pour aller plus loin", hidden: "" });
    this.optionalList = el("ul", { className: "incubo-seance-optionnels" });
    var region = el("section", { className: "incubo-seance", role: "region", "aria-label": "Séance en cours" }, [
      this.banner,
      this.announce,
      this.pollBox,
      el("h3", { text: "Étapes de la séance" }),
      this.stepList,
      this.optionalTitle,
      this.optionalList
    ]);
    widget.node.appendChild(region);
    this.widget = widget;
    this.code = seance.code;
    this.pollKey = null;
    this.seen = null;
    this.app.shell.add(widget, "right", { rank: 1 });
    this.app.shell.activateById(widget.id);
  };

  Panel.prototype.link = function (title, path) {
    var app = this.app;
    var a = el("a", { href: this.base + "lab/tree/" + path.split("/").map(encodeURIComponent).join("/"), text: title });
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      app.commands.execute("docmanager:open", { path: path });
    });
    return a;
  };

  Panel.prototype.showSteps = function (seance) {
    var self = this;
    var titles = seance.titres || {};
    var paths = seance.chemins || {};
    var fresh = [];
    var first = this.seen === null;
    if (first) this.seen = {};
    var items = function (names, list) {
      list.replaceChildren.apply(list, names.map(function (name) {
        var title = titles[name] || name;
        if (paths[name] && !self.seen[name]) {
          self.seen[name] = true;
          if (!first) fresh.push(name);
        }
        return el("li", {}, [paths[name] ? self.link(title, paths[name]) : title + " (copie en cours…)"]);
      }));
    };
    items(seance.etapes || [], this.stepList);
    var optional = (seance.optionnels || []).filter(function (n) { return paths[n]; });
    items(optional, this.optionalList);
    this.optionalTitle.hidden = optional.length === 0;
    if (fresh.length) {
      var name = fresh[fresh.length - 1];
      var isOptional = (seance.optionnels || []).indexOf(name) >= 0;
      this.app.shell.activateById(this.widget.id);
      this.announce.replaceChildren(
        isOptional ? "Exercice supplémentaire disponible : " : "Nouvelle étape disponible : ",
        this.link(titles[name] || name, paths[name])
      );
    }
  };

  Panel.prototype.showPoll = function (seance) {
    var poll = seance.sondage;
    if (!poll) {
      this.pollKey = null;
      this.pollBox.replaceChildren();
      return;
    }
    var key = seance.code + "/" + poll.id;
    if (this.pollKey !== key) {
      this.pollKey = key;
      this.buildPoll(poll, seance.ma_reponse);
      this.app.shell.activateById(this.widget.id);
      this.announce.replaceChildren("Nouvelle question : " + poll.question);
    }
    var closed = poll.ouvert === false;
    this.pollSubmit.disabled = closed;
    this.pollClosed.hidden = !closed;
    if (poll.revele && poll.bonne_reponse !== undefined && this.pollSolution.hidden) {
      this.pollSolution.textContent = "Bonne réponse : " + (poll.bonne_reponse || "aucune attendue");
      this.pollSolution.hidden = false;
    }
  };

  Panel.prototype.buildPoll = function (poll, previous) {
    var self = this;
    var id = "incubo-seance-" + poll.id;
    var fields;
    var kind = poll.type;
    if (kind === "choix-unique" || kind === "choix-multiple") {
      var chosen = [].concat(previous === null || previous === undefined ? [] : previous).map(String);
      fields = el("fieldset", {}, [el("legend", { text: poll.question })].concat(
        (poll.options || []).map(function (text, i) {
          var input = el("input", {
            type: kind === "choix-unique" ? "radio" : "checkbox",
            name: id, value: String(i), id: id + "-" + i
          });
          input.checked = chosen.indexOf(String(i)) >= 0;
          return el("label", { className: "incubo-seance-choix", "for": id + "-" + i }, [input, " " + text]);
        })
      ));
      if (kind === "choix-multiple") fields.appendChild(el("p", { text: "Plusieurs réponses possibles." }));
    } else {
      var input = el("input", {
        type: "text", id: id + "-valeur", name: id, autocomplete: "off",
        inputmode: kind === "nombre" ? "decimal" : "text", maxlength: "40"
      });
      if (previous !== null && previous !== undefined) input.value = String(previous);
      fields = el("fieldset", {}, [
        el("legend", { text: poll.question }),
        el("label", { "for": id + "-valeur", text: kind === "nombre" ? "Votre réponse (un nombre) :" : "Votre réponse (un mot) :" }),
        el("br"), input
      ]);
    }
    this.pollSubmit = el("button", { type: "submit", text: "Répondre" });
    this.pollStatus = el("p", { className: "incubo-seance-etat", role: "status" });
    this.pollClosed = el("p", { text: "Ce sondage est terminé.", hidden: "" });
    this.pollSolution = el("p", { className: "incubo-seance-solution", hidden: "" });
    if (previous !== null && previous !== undefined) this.pollStatus.textContent = "Réponse envoyée";
    var form = el("form", { "aria-label": "Question de la séance", novalidate: "" }, [
      fields, this.pollSubmit, this.pollStatus, this.pollClosed, this.pollSolution
    ]);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      self.send(poll, form);
    });
    this.pollBox.replaceChildren(el("h2", { text: "Question" }), form);
  };

  Panel.prototype.send = function (poll, form) {
    var self = this;
    var answer;
    if (poll.type === "choix-unique" || poll.type === "choix-multiple") {
      var picked = Array.prototype.filter.call(form.querySelectorAll("input"), function (i) { return i.checked; })
        .map(function (i) { return Number(i.value); });
      if (!picked.length) return this.status("Choisissez une réponse avant d'envoyer.", true);
      answer = poll.type === "choix-unique" ? picked[0] : picked;
    } else {
      answer = form.querySelector("input").value.trim();
      if (!answer) return this.status("Écrivez votre réponse avant d'envoyer.", true);
    }
    var status = this.pollStatus;
    this.pollSubmit.disabled = true;
    this.request("incubo/seance/reponse", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sondage: poll.id, reponse: answer })
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (status !== self.pollStatus) return;
          if (r.ok) self.status("Réponse envoyée", false);
          else self.status(body.erreur || "Votre réponse n'a pas pu être envoyée : réessayez.", true);
        });
      })
      .catch(function () { self.status("Votre réponse n'a pas pu être envoyée : réessayez.", true); })
      .then(function () { if (status === self.pollStatus && self.pollClosed.hidden) self.pollSubmit.disabled = false; });
  };

  Panel.prototype.status = function (text, error) {
    this.pollStatus.textContent = text;
    this.pollStatus.classList.toggle("erreur", !!error);
  };

  var plugin = {
    id: SCOPE + ":panel",
    description: "La séance de la salle : question en direct, étapes débloquées par le formateur.",
    autoStart: true,
    activate: function (app) {
      var panel = new Panel(app);
      (app.restored || Promise.resolve()).then(function () { panel.start(); });
      return panel;
    }
  };

  (window._JUPYTERLAB = window._JUPYTERLAB || {})[SCOPE] = {
    init: function () { return Promise.resolve(); },
    get: function (module) {
      if (module !== "./extension") return Promise.reject(new Error(SCOPE + ": no module " + module));
      return Promise.resolve(function () { return { __esModule: true, default: [plugin] }; });
    }
  };
})();
