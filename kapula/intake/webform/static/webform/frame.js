/* Kapula: runs inside an embedded form (…/embed/). It tells the page around the frame how
   tall the form is, so that the frame can grow with it (embed.js listens), and after a
   send it brings the result into view. Nothing here is needed when the page is opened on
   its own. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = -1;

  function height() {
    return Math.ceil(document.documentElement.getBoundingClientRect().height);
  }

  function post(extra) {
    var message = { kapula: "form-size", height: height(), title: document.title };
    if (extra) message.show = true;
    last = message.height;
    // Only a height and a title are sent; frame-ancestors already limits which sites can
    // hold this page, so the message can be addressed to any origin.
    window.parent.postMessage(message, "*");
  }

  function changed() {
    if (height() !== last) post(false);
  }

  function start() {
    // An error summary or a confirmation is the answer to a send: show it and focus it.
    var result = document.getElementById("error-summary") ||
      document.querySelector("main [role=status]");
    post(Boolean(result));
    if (result) {
      if (!result.hasAttribute("tabindex")) result.setAttribute("tabindex", "-1");
      result.focus({ preventScroll: true });
    }
    if (window.ResizeObserver) {
      new ResizeObserver(changed).observe(document.documentElement);
    } else {
      window.addEventListener("resize", changed);
    }
    window.addEventListener("load", changed);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
