// Sends the CSRF token with every htmx request (forms also carry it as a hidden field).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});

// After htmx swaps in quiz results, move focus to their heading so screen readers announce them.
document.addEventListener("htmx:afterSwap", function (event) {
  var heading = document.querySelector("#quiz-area h1[tabindex='-1']");
  if (heading) { heading.focus(); }
});
