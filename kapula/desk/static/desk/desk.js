/* Kapula workspace: small progressive enhancements (the pages work without this file). */
(function () {
  "use strict";
  // After an htmx swap, move keyboard and screen-reader focus to what changed: the first
  // error of a form, else the confirmation message.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("main [role=alert]") ||
      document.querySelector("main [aria-invalid=true]") ||
      document.querySelector("#flash .flash-item");
    if (target) {
      if (!target.matches("input, select, textarea")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });
})();
