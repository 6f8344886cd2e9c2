// Keeps the export's progress bar up to date without reloading the page, and
// reloads the page once the export has finished, to show its download link (or
// what went wrong). Without JavaScript the page shows the progress as it was
// when it was loaded, with a link to load it again.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var box = document.getElementById("export-status");
  if (!box || box.getAttribute("data-active") !== "true") return;
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("export-progress");
  var percent = document.getElementById("export-percent");
  var message = document.getElementById("export-message");
  var hint = document.getElementById("export-refresh-hint");
  hint.hidden = true;

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + " %";
    percent.textContent = status.percent + " %";
    // Only a new message is written: the status region is read out when it changes.
    if (message.textContent !== status.message) message.textContent = status.message;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (status.finished) {
          window.location.reload();
          return;
        }
        show(status);
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        // Signed out, or the site is away: the link works as without JavaScript.
        hint.hidden = false;
        window.setTimeout(poll, POLL_MS * 5);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
