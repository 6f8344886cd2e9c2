// Keeps the navigation bar's unread counts (Messages, Notifications) current without
// a reload: every data-unread-seconds, while the page is in view, it asks
// data-unread-url for the counts, naming the state it has (since=...). Nothing new is
// an empty 304; otherwise the answer is {"messages": n, "notifications": n, "state":
// "..."} (docs/messages.md). A hidden tab asks nothing, and asks once on coming back.
// Without JavaScript the counts are those of the page as it was served.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-unread-url");
  if (!url) return;
  var state = body.getAttribute("data-unread-state");
  var seconds = parseInt(body.getAttribute("data-unread-seconds"), 10) || 30;
  var counted = 100; // app.models.UNREAD_COUNTED: the server counts no further
  var timer = null;
  var asking = false;

  function shown(count) {
    return count >= counted ? counted - 1 + "+" : String(count);
  }

  function show(kind, count) {
    var badges = document.querySelectorAll('[data-unread="' + kind + '"]');
    for (var i = 0; i < badges.length; i++) {
      badges[i].querySelector("[data-unread-count]").textContent = shown(count);
      badges[i].hidden = count === 0;
    }
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
    document.removeEventListener("visibilitychange", onVisibilityChange);
  }

  function ask() {
    if (asking || document.hidden) return;
    asking = true;
    fetch(url + "?since=" + encodeURIComponent(state), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        // 401: signed out (elsewhere); nothing more to count for this page.
        if (response.status === 401) stop();
        return response.status === 200 ? response.json() : null;
      })
      .then(function (counts) {
        if (!counts) return;
        state = counts.state;
        show("messages", counts.messages);
        show("notifications", counts.notifications);
      })
      .catch(function () {
        // Offline or the server away for a moment: the next turn asks again.
      })
      .then(function () {
        asking = false;
      });
  }

  function onVisibilityChange() {
    if (!document.hidden) ask();
  }

  timer = window.setInterval(ask, seconds * 1000);
  document.addEventListener("visibilitychange", onVisibilityChange);
})();
