// Hover cards: pointing at an author's name in a list of posts, or moving the focus to
// it, shows a small card about them (avatar, counts, Follow), fetched from their
// profile's address + "/card". The card comes right after the name in the page, so
// Tab goes on into its button; Escape closes it (the focus back on the name), and so
// does leaving both the name and the card. Without JavaScript the name is a plain
// link to the profile, which shows the same.
(function () {
  "use strict";
  var OPEN_AFTER_MS = 350;
  var CLOSE_AFTER_MS = 250;
  var fetched = {}; // card markup by address, for this page's life
  var opened = null; // { link, card }
  var pending = null; // { link, timer }: about to open
  var closing = null;
  var dismissed = null; // closed with Escape: not opened again until left
  var made = 0;

  function nameLink(node) {
    return node && node.closest ? node.closest("a[data-hover-card]") : null;
  }

  function inCard(node) {
    return Boolean(opened && node && opened.card.contains(node));
  }

  function cardOf(link) {
    var address = link.getAttribute("href") + "/card";
    if (!fetched[address]) {
      fetched[address] = fetch(address, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error("no card: " + response.status);
        return response.text();
      });
      fetched[address].catch(function () {
        delete fetched[address]; // asked again next time
      });
    }
    return fetched[address];
  }

  function place(link, card) {
    // The post's list item is the positioned box the card is placed in; the card
    // stays inside it, so that a phone's screen never scrolls sideways.
    var box = card.offsetParent;
    var left = link.offsetLeft;
    if (box) left = Math.max(0, Math.min(left, box.clientWidth - card.offsetWidth));
    card.style.left = left + "px";
    card.style.top = link.offsetTop + link.offsetHeight + 4 + "px";
  }

  function show(link, markup) {
    close();
    var card = document.createElement("div");
    made += 1;
    card.id = "hover-card-" + made;
    card.className = "hover-card";
    card.setAttribute("role", "group");
    // The words, in the page's language, come with the page (base.html).
    card.setAttribute(
      "aria-label",
      document.body.getAttribute("data-hover-label").replace("{name}", link.textContent)
    );
    // The site's own markup, its every value escaped by the server.
    card.innerHTML = markup;
    var back = card.querySelector('input[name="next"]');
    if (back) back.value = window.location.pathname + window.location.search;
    link.insertAdjacentElement("afterend", card);
    place(link, card);
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-controls", card.id);
    opened = { link: link, card: card };
  }

  function close() {
    window.clearTimeout(closing);
    if (!opened) return;
    opened.link.setAttribute("aria-expanded", "false");
    opened.link.removeAttribute("aria-controls");
    opened.card.remove();
    opened = null;
  }

  function cancelOpening() {
    if (pending) window.clearTimeout(pending.timer);
    pending = null;
  }

  function scheduleOpen(link) {
    window.clearTimeout(closing);
    if ((opened && opened.link === link) || (pending && pending.link === link)) return;
    cancelOpening();
    var wanted = { link: link };
    wanted.timer = window.setTimeout(function () {
      cardOf(link).then(
        function (markup) {
          if (pending === wanted) {
            pending = null;
            show(link, markup);
          }
        },
        function () {} // no card: the name is still a link
      );
    }, OPEN_AFTER_MS);
    pending = wanted;
  }

  function scheduleClose() {
    cancelOpening();
    window.clearTimeout(closing);
    closing = window.setTimeout(close, CLOSE_AFTER_MS);
  }

  function enter(event) {
    var link = nameLink(event.target);
    if (inCard(event.target)) window.clearTimeout(closing);
    else if (link && link !== dismissed) scheduleOpen(link);
  }

  function leave(event) {
    var link = inCard(event.target) ? opened.link : nameLink(event.target);
    if (!link) return;
    var to = event.relatedTarget;
    // Moving between the name and its card keeps the card.
    if (nameLink(to) === link || inCard(to)) return;
    if (link === dismissed) dismissed = null;
    scheduleClose();
  }

  document.addEventListener("mouseover", enter);
  document.addEventListener("focusin", enter);
  document.addEventListener("mouseout", leave);
  document.addEventListener("focusout", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !opened) return;
    var link = opened.link;
    var focusInCard = inCard(document.activeElement);
    dismissed = link;
    cancelOpening();
    // The focus goes back to the name before the card goes: removing the focused
    // button would fire a focusout (Chromium does) that reads as leaving the name, and
    // the card would open again on the name's focus.
    if (focusInCard) link.focus();
    close();
  });
})();
