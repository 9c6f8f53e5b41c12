/* kovflow progressive enhancement. The pages work fully without this file.
   - Confirm before a form with data-confirm is sent.
   - Move focus to the first error or conflict message after a refused step, so a
     keyboard or screen-reader user hears it right away. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector(".refused, .conflict, .error");
    if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
  });
})();
