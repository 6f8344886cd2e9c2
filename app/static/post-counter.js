// Shows how many characters a post has left while it is written. Without
// JavaScript the hint stays as the server rendered it, and the server refuses a
// post that is too long either way.
(function () {
  "use strict";
  var fields = document.querySelectorAll("textarea[data-counter]");
  // The words ("12 characters left", "Quedan 12 caracteres") come with the field, in
  // the page's language; that language's plural rules pick the form.
  var plural = new Intl.PluralRules(document.documentElement.lang);
  for (var i = 0; i < fields.length; i++) {
    watch(fields[i]);
  }

  function watch(field) {
    var limit = parseInt(field.getAttribute("maxlength"), 10);
    var hint = document.getElementById(field.getAttribute("data-counter"));
    if (!limit || !hint) return;
    hint.setAttribute("aria-live", "polite");
    function update() {
      // UTF-16 units, as the browser's maxlength counts them: the counter agrees
      // with what the field lets a person type (the server's limit is never lower).
      var left = limit - field.value.length;
      var words = field.getAttribute(
        plural.select(left) === "one" ? "data-left-one" : "data-left-other"
      );
      hint.textContent = words.replace("{n}", left.toLocaleString(document.documentElement.lang));
      hint.classList.toggle("text-danger", left < 0);
    }
    field.addEventListener("input", update);
    update();
  }
})();
