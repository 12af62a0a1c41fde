/* Customer portal: move focus to the error summary when a form comes back with errors, so
   that keyboard and screen-reader users hear it first. The pages work without this file. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
