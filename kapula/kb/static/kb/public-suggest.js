/* Kapula: answers from the public knowledge base next to a web form's description.
   While the customer types (title and description), matching published articles are asked
   for (/help/<org>/suggest/, at most once per 400 ms pause, from 3 words or 12 characters)
   and shown in the form's "answers that may help" region, which is an aria-live region:
   the new list is announced, focus never moves while typing. "Did this solve it?" posts to
   /help/<org>/feedback/: yes shows that the form need not be sent, no hides the article.
   Without JavaScript the region stays hidden and the form works as before. */
(function () {
  "use strict";
  var DELAY = 400, MIN_WORDS = 3, MIN_CHARS = 12, MAX_CHARS = 500;

  function start(region) {
    var form = region.closest("form") || document;
    var list = region.querySelector("[data-kb-list]");
    var status = region.querySelector("[data-kb-status]");
    var sources = [];
    (region.getAttribute("data-sources") || "description").split(/\s+/).forEach(function (name) {
      var el = form.querySelector ? form.querySelector("[name='" + name + "']") : null;
      if (el && (el.tagName === "TEXTAREA" || el.type === "text")) sources.push(el);
    });
    if (!sources.length || !window.fetch) return;
    region.hidden = false;

    var timer = null, lastText = null, shownIds = "", seq = 0;
    var dismissed = {}, solved = {};

    function text() {
      return sources.map(function (el) { return el.value; }).join("\n")
        .replace(/\s+/g, " ").trim().slice(0, MAX_CHARS);
    }

    function longEnough(value) {
      return value.length >= MIN_CHARS || value.split(" ").filter(Boolean).length >= MIN_WORDS;
    }

    function show(html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      var items = Array.prototype.slice.call(tpl.content.querySelectorAll("[data-kb-article]"));
      items = items.filter(function (li) {
        if (!dismissed[li.getAttribute("data-kb-article")]) return true;
        li.remove();
        return false;
      });
      var ids = items.map(function (li) { return li.getAttribute("data-kb-article"); }).join(" ");
      if (ids === shownIds) return;  // the same articles: nothing to announce again
      shownIds = ids;
      items.forEach(function (li) {  // an answered "yes" keeps its message
        var keep = solved[li.getAttribute("data-kb-article")];
        if (keep) li.replaceWith(keep);
      });
      list.replaceChildren(tpl.content);
    }

    function ask() {
      var value = text();
      if (!longEnough(value)) {
        lastText = value;
        if (shownIds) show("");
        return;
      }
      if (value === lastText) return;
      lastText = value;
      var mine = ++seq;
      var params = new URLSearchParams({
        q: value, lang: region.getAttribute("data-lang") || "",
        service: region.getAttribute("data-service") || ""
      });
      fetch(region.getAttribute("data-url") + "?" + params.toString(), {
        credentials: "same-origin", headers: { "Accept": "text/html" }
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null && mine === seq) show(html);
      }).catch(function () { /* offline: the form still works */ });
    }

    sources.forEach(function (el) {
      el.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(ask, DELAY);
      });
    });

    region.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-kb-answer]");
      if (!button || button.disabled) return;
      var box = button.closest("[data-kb-answer-box]");
      var item = button.closest("[data-kb-article]");
      var buttons = box.querySelectorAll("button");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      var helpful = button.getAttribute("data-kb-answer");
      var body = new FormData();
      body.append("token", button.getAttribute("data-token"));
      body.append("helpful", helpful);
      body.append("lang", region.getAttribute("data-lang") || "");
      fetch(region.getAttribute("data-feedback-url"), {
        method: "POST", body: body, credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      }).then(function (html) {
        var id = item.getAttribute("data-kb-article");
        if (helpful === "yes") {
          box.innerHTML = html;
          var message = box.firstElementChild;
          solved[id] = item;
          if (message) { message.setAttribute("tabindex", "-1"); message.focus(); }
        } else {
          dismissed[id] = true;
          item.remove();
          shownIds = shownIds.split(" ").filter(function (x) { return x !== id; }).join(" ");
          var tpl = document.createElement("template");
          tpl.innerHTML = html;
          status.textContent = tpl.content.textContent.trim();
          status.focus();
        }
      }).catch(function () {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        status.textContent = region.getAttribute("data-msg-error") || "";
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-kb-suggest]"), start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
