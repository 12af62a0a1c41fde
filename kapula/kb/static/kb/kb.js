/* Kapula knowledge base in the agents' workspace (no dependencies; the pages work without it).
 *
 * 1. A small rich-text editor: every <textarea data-rich-editor> gets a toolbar (bold,
 *    italic, heading, bulleted and numbered list, link) over a contenteditable region. The
 *    region's HTML is written back into the (hidden) textarea on every change and on submit;
 *    without JavaScript the textarea itself is the editor. The server sanitises what it gets.
 * 2. On the ticket page: "Insert link" / "Insert excerpt" buttons of the suggested articles
 *    put their text into the reply at the cursor.
 */
(function () {
  "use strict";

  var ALLOWED = {
    A: 1, ABBR: 1, B: 1, BLOCKQUOTE: 1, BR: 1, CODE: 1, DIV: 1, EM: 1, H1: 1, H2: 1, H3: 1,
    H4: 1, HR: 1, I: 1, LI: 1, OL: 1, P: 1, PRE: 1, S: 1, SPAN: 1, STRONG: 1, SUB: 1, SUP: 1,
    TABLE: 1, TBODY: 1, TD: 1, TH: 1, THEAD: 1, TR: 1, U: 1, UL: 1
  };
  var DROP = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, svg: 1, SVG: 1 };
  var SAFE_URL = /^(https?:|mailto:|tel:|\/|#)/i;

  /* The textarea's HTML as inert, cleaned nodes (the text typed before a failed save is
   * shown again; it never runs). The server sanitises again when it is saved. */
  function cleanInto(target, html) {
    var doc = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
    function walk(from, to) {
      Array.prototype.forEach.call(from.childNodes, function (node) {
        if (node.nodeType === 3) {
          to.appendChild(document.createTextNode(node.nodeValue));
        } else if (node.nodeType === 1) {
          if (DROP[node.nodeName]) return;
          if (!ALLOWED[node.nodeName]) { walk(node, to); return; }
          var el = document.createElement(node.nodeName.toLowerCase());
          if (node.nodeName === "A") {
            var href = (node.getAttribute("href") || "").trim();
            if (SAFE_URL.test(href)) el.setAttribute("href", href);
          }
          walk(node, el);
          to.appendChild(el);
        }
      });
    }
    target.textContent = "";
    walk(doc.body, target);
  }

  var uid = 0;

  function enhance(textarea) {
    if (textarea.getAttribute("data-kb-enhanced")) return;
    textarea.setAttribute("data-kb-enhanced", "1");
    uid += 1;
    var d = textarea.dataset;
    var wrap = document.createElement("div");
    wrap.className = "kb-editor";
    var bar = document.createElement("div");
    bar.className = "kb-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", d.labelToolbar || "Formatting");
    var area = document.createElement("div");
    area.className = "kb-area";
    area.id = "kb-area-" + uid;
    area.setAttribute("contenteditable", "true");
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    bar.setAttribute("aria-controls", area.id);
    var label = textarea.id ? document.querySelector("label[for='" + textarea.id + "']") : null;
    if (label) {
      if (!label.id) label.id = textarea.id + "-label";
      area.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { area.focus(); });
    } else {
      area.setAttribute("aria-label", d.labelArea || "Text");
    }
    var described = textarea.getAttribute("aria-describedby");
    if (described) area.setAttribute("aria-describedby", described);
    if (textarea.getAttribute("aria-invalid")) area.setAttribute("aria-invalid", "true");
    cleanInto(area, textarea.value);

    var buttons = [];
    function sync() {
      // empty paragraphs the browser leaves around lists and headings are not kept
      var copy = area.cloneNode(true);
      // a list or heading made inside a paragraph: the paragraph goes, its content stays
      Array.prototype.forEach.call(copy.querySelectorAll("p"), function (el) {
        if (el.querySelector("ul, ol, h1, h2, h3, h4, p, div, blockquote, pre, table")) {
          while (el.firstChild) el.parentNode.insertBefore(el.firstChild, el);
          el.parentNode.removeChild(el);
        }
      });
      Array.prototype.forEach.call(copy.querySelectorAll("p, h2, h3, div"), function (el) {
        if (!el.textContent.replace(/\u00a0/g, " ").trim() && !el.querySelector("hr")) {
          el.parentNode.removeChild(el);
        }
      });
      textarea.value = copy.textContent.trim() || copy.querySelector("hr") ? copy.innerHTML : "";
    }
    function updateStates() {
      buttons.forEach(function (b) {
        if (!b.stateCommand) return;
        var on = false;
        try { on = document.queryCommandState(b.stateCommand); } catch (e) { on = false; }
        b.el.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }
    function run(command, value) {
      area.focus();
      document.execCommand(command, false, value);
      sync();
      updateStates();
    }
    function heading() {
      var block = "";
      try { block = String(document.queryCommandValue("formatBlock") || "").toLowerCase(); } catch (e) { block = ""; }
      run("formatBlock", block === "h2" ? "<p>" : "<h2>");
    }
    function link() {
      var url = window.prompt(d.labelLinkPrompt || "URL", "https://");
      if (!url) { area.focus(); return; }
      url = url.trim();
      if (!SAFE_URL.test(url)) url = "https://" + url;
      run("createLink", url);
    }
    var defs = [
      { label: d.labelBold || "Bold", action: function () { run("bold"); }, state: "bold", cls: "kb-b" },
      { label: d.labelItalic || "Italic", action: function () { run("italic"); }, state: "italic", cls: "kb-i" },
      { label: d.labelHeading || "Heading", action: heading },
      { label: d.labelBullets || "Bulleted list", action: function () { run("insertUnorderedList"); }, state: "insertUnorderedList" },
      { label: d.labelNumbers || "Numbered list", action: function () { run("insertOrderedList"); }, state: "insertOrderedList" },
      { label: d.labelLink || "Link", action: link }
    ];
    defs.forEach(function (def, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-small kb-tool" + (def.cls ? " " + def.cls : "");
      b.textContent = def.label;
      b.tabIndex = i === 0 ? 0 : -1;
      if (def.state) b.setAttribute("aria-pressed", "false");
      // keep the selection in the text when the button is pressed with the mouse
      b.addEventListener("mousedown", function (e) { e.preventDefault(); });
      b.addEventListener("click", def.action);
      bar.appendChild(b);
      buttons.push({ el: b, stateCommand: def.state });
    });
    // one tab stop for the toolbar; arrow keys move between its buttons
    bar.addEventListener("keydown", function (e) {
      var i = buttons.map(function (b) { return b.el; }).indexOf(document.activeElement);
      if (i < 0) return;
      var next = i;
      if (e.key === "ArrowRight") next = (i + 1) % buttons.length;
      else if (e.key === "ArrowLeft") next = (i - 1 + buttons.length) % buttons.length;
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = buttons.length - 1;
      else return;
      e.preventDefault();
      buttons[i].el.tabIndex = -1;
      buttons[next].el.tabIndex = 0;
      buttons[next].el.focus();
    });
    area.addEventListener("input", sync);
    area.addEventListener("keyup", updateStates);
    area.addEventListener("mouseup", updateStates);
    area.addEventListener("keydown", function (e) {
      // Ctrl/Cmd+K: link (bold and italic have their browser shortcuts)
      if ((e.ctrlKey || e.metaKey) && (e.key === "k" || e.key === "K")) { e.preventDefault(); link(); }
    });
    if (textarea.form) textarea.form.addEventListener("submit", sync);

    wrap.appendChild(bar);
    wrap.appendChild(area);
    textarea.parentNode.insertBefore(wrap, textarea);
    textarea.hidden = true;
    try { document.execCommand("defaultParagraphSeparator", false, "p"); } catch (e) { /* old browsers */ }
  }

  function enhanceAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("textarea[data-rich-editor]"), enhance);
  }

  // --- inserting suggested articles into the reply ------------------------------------------
  document.addEventListener("click", function (e) {
    var btn = e.target.closest ? e.target.closest("[data-kb-insert]") : null;
    if (!btn) return;
    var reply = document.querySelector("#compose textarea[name=body]");
    if (!reply) return;
    var text = btn.getAttribute("data-kb-insert") || "";
    var start = typeof reply.selectionStart === "number" ? reply.selectionStart : reply.value.length;
    var end = typeof reply.selectionEnd === "number" ? reply.selectionEnd : start;
    var before = reply.value.slice(0, start);
    var after = reply.value.slice(end);
    if (before && !/\s$/.test(before)) text = (text.indexOf("\n") >= 0 ? "\n\n" : " ") + text;
    if (after && !/^\s/.test(after)) text = text + " ";
    reply.value = before + text + after;
    var caret = before.length + text.length;
    reply.focus();
    reply.setSelectionRange(caret, caret);
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    var status = document.getElementById("kb-insert-status");
    if (status) status.textContent = status.getAttribute("data-done") || "";
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  } else {
    enhanceAll(document);
  }
  document.addEventListener("htmx:load", function (e) { enhanceAll(e.target); });
})();
