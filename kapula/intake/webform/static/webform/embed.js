/* Kapula web forms on another website.

   <div data-kapula-form="https://kapula.example/forms/ORG/SERVICE/" data-lang="sv"></div>
   <script src="https://kapula.example/forms/embed.js" async></script>

   Each such element is replaced by a frame showing the form (…/embed/) in the given
   language (fi, sv or en). The frame grows with its content: the form page posts its
   height, and only messages from the frame's own window and Kapula's origin are believed.
   Optional: data-title="…" names the frame for screen readers (by default the form's own
   title is used once it has loaded). */
(function () {
  "use strict";
  var script = document.currentScript;
  var home = script && script.src ? new URL(script.src, window.location.href).origin : null;
  var TITLES = { fi: "Verkkolomake", sv: "Webbformulär", en: "Web form" };
  var frames = [];

  function build(element) {
    var address = element.getAttribute("data-kapula-form");
    var url;
    try {
      url = new URL(address || "", script && script.src ? script.src : window.location.href);
    } catch (e) {
      return;
    }
    // only forms of the Kapula this script came from (its messages are the ones believed)
    if ((home && url.origin !== home) || !/^https?:$/.test(url.protocol)) return;
    if (!/\/embed\/$/.test(url.pathname)) {
      url.pathname = url.pathname.replace(/\/?$/, "/") + "embed/";
    }
    var lang = element.getAttribute("data-lang") || "";
    url.search = "";
    url.hash = "";
    if (TITLES[lang]) url.searchParams.set("lang", lang);
    var frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = element.getAttribute("data-title") || TITLES[lang] || TITLES.fi;
    frame.setAttribute("loading", "lazy");
    frame.setAttribute("data-kapula-frame", "");
    frame.style.display = "block";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = "40rem";
    frames.push({ frame: frame, origin: url.origin, named: element.hasAttribute("data-title") });
    element.parentNode.replaceChild(frame, element);
  }

  function receive(event) {
    var data = event.data;
    if (!data || typeof data !== "object" || data.kapula !== "form-size") return;
    var height = Number(data.height);
    if (!isFinite(height) || height < 1 || height > 100000) return;
    for (var i = 0; i < frames.length; i++) {
      var item = frames[i];
      if (item.frame.contentWindow !== event.source || item.origin !== event.origin) continue;
      item.frame.style.height = Math.ceil(height) + "px";
      if (!item.named && typeof data.title === "string" && data.title) {
        item.frame.title = data.title.slice(0, 200);
      }
      if (data.show === true && item.frame.getBoundingClientRect().top < 0) {
        item.frame.scrollIntoView({ block: "start" });
      }
    }
  }

  function start() {
    var found = document.querySelectorAll("[data-kapula-form]");
    for (var i = 0; i < found.length; i++) build(found[i]);
  }

  window.addEventListener("message", receive);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
