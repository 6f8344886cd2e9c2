// Progressive enhancement of <time datetime="...Z"> elements rendered in UTC by the
// server: show them in the reader's own time zone as relative time ("5 minutes
// ago"), with the exact local time on hover. Without JavaScript the UTC text stays.
(function () {
  "use strict";
  var units = [
    ["year", 365 * 24 * 3600],
    ["month", 30 * 24 * 3600],
    ["week", 7 * 24 * 3600],
    ["day", 24 * 3600],
    ["hour", 3600],
    ["minute", 60],
  ];
  // In the page's language (<html lang>), not the browser's: the page's words and its
  // times read alike. The time zone stays the reader's own.
  // The reader's own variant of it comes first (en-GB's 24-hour clock on an English
  // page, es-MX's on a Spanish one), when the browser names one.
  var language = document.documentElement.lang;
  var locales = (navigator.languages || [])
    .filter(function (tag) { return tag.split("-")[0] === language; })
    .concat(language ? [language] : []);
  var relative = new Intl.RelativeTimeFormat(locales, { numeric: "auto" });
  var exact = new Intl.DateTimeFormat(locales, { dateStyle: "full", timeStyle: "short" });
  // The site's own words for the last minute (the page's), Intl's "now" without them.
  var justNow = document.body.getAttribute("data-just-now") || relative.format(0, "second");

  function describe(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    for (var i = 0; i < units.length; i++) {
      var size = units[i][1];
      if (Math.abs(seconds) >= size) {
        return relative.format(Math.round(seconds / size), units[i][0]);
      }
    }
    return justNow;
  }

  function update() {
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var date = new Date(times[i].getAttribute("datetime"));
      if (isNaN(date.getTime())) continue;
      times[i].textContent = describe(date);
      times[i].title = exact.format(date);
    }
  }

  update();
  window.setInterval(update, 60 * 1000);
})();
