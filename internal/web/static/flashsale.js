// Keeps a flash sale live on a page left open: what is left of each item,
// the choices sold out, the buy button, and the sale's start and end. The
// page is whole without it (every store page works without JavaScript):
// this reads the sale's public JSON now and then and updates the page in
// place.
//
// A page marks what it shows of a sale with data attributes:
//   data-flash-sale="URL"      the sale's JSON; its texts in
//                              data-left-text ("%d left") and
//                              data-sold-out-text
//   data-left-of="VARIANT"     what is left of an item
//   data-when="STATE"          shown only while the sale is scheduled,
//                              active, ended or (active and) sold-out
//   data-choice-gone           shown when the item the shopper chose sells out
//   data-buy                   the buy button or link: enabled (shown)
//                              only while the box's items have units left
//   input[name=variant_id]     a choice, disabled while its item is sold out
//
// Thousands of shoppers may watch one sale, so each asks at most every two
// seconds while it runs (with jitter, so that they do not ask together),
// and no sooner than the answer's max-age (five seconds while the sale has
// its fill of buys in flight), every five once it is sold out, rarely
// before it starts (by the server's clock) and not at all in its last
// seconds before: the page opens the sale itself at the start and asks
// some two seconds after. Not at all from a hidden tab; it backs off on
// errors and as long as Retry-After says.
(function () {
  "use strict";

  var running = 2000, nearStart = 15000, soldOut = 5000, farOff = 300000, maxBackoff = 60000;

  var byURL = {};
  document.querySelectorAll("[data-flash-sale]").forEach(function (box) {
    (byURL[box.dataset.flashSale] = byURL[box.dataset.flashSale] || []).push(box);
    // A sale page made before the start says when it starts
    // (data-starts-in, by the server's clock as it was made): it opens then
    // without asking, however late in the wait the shopper loaded it. The
    // time since is counted from the page's first byte, so a slow network
    // makes it late, never early (without navigation timing, from a second
    // after the request was sent).
    if (box.dataset.startsIn) {
      var nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
      var until = parseInt(box.dataset.startsIn, 10) - (performance.now() - (nav ? nav.responseStart : 1000));
      if (until <= nearStart) {
        setTimeout(function () { open(box); }, Math.max(until, 0));
      }
    }
  });
  Object.keys(byURL).forEach(function (url) { follow(url, byURL[url]); });

  function follow(url, boxes) {
    var failures = 0, asked = 0, skew = 0, notBefore = 0; // skew: server clock minus ours, from the Date header

    // later asks again in about ms (±25 %), and no sooner than the last
    // answer's max-age.
    function later(ms) {
      setTimeout(poll, Math.max(ms * (0.75 + Math.random() * 0.5), notBefore));
    }

    function poll() {
      if (document.hidden) {
        document.addEventListener("visibilitychange", poll, { once: true });
        return;
      }
      // no-cache: a cache in front may answer (it keeps the JSON a second),
      // the browser's own copy may not (its Date would be old).
      fetch(url, { headers: { Accept: "application/json" }, credentials: "omit", cache: "no-cache" })
        .then(function (res) {
          if (!res.ok) {
            var after = parseInt(res.headers.get("Retry-After"), 10);
            throw { retryAfter: after > 0 ? after * 1000 : 0 };
          }
          var date = Date.parse(res.headers.get("Date"));
          if (!isNaN(date)) {
            skew = date + (parseInt(res.headers.get("Age"), 10) || 0) * 1000 - Date.now();
          }
          // In a burst the server asks for patience (max-age 5 rather than 1).
          var maxAge = /max-age=(\d+)/.exec(res.headers.get("Cache-Control") || "");
          notBefore = maxAge ? parseInt(maxAge[1], 10) * 1000 : 0;
          return res.json();
        })
        .then(function (sale) {
          failures = 0;
          asked++;
          boxes.forEach(function (box) {
            box.dataset.asked = String(asked); // answers shown, for whoever looks at the page
            show(box, sale);
          });
          if (sale.status === "scheduled") {
            awaitStart(sale, Date.parse(sale.starts_at) - (Date.now() + skew));
            return;
          }
          var wait = next(sale);
          if (wait > 0) {
            later(wait);
          }
        })
        .catch(function (err) {
          failures++;
          notBefore = (err && err.retryAfter) || 0;
          later(Math.min(maxBackoff, running * Math.pow(2, failures)));
        });
    }

    // awaitStart follows a sale that starts in until ms (by the server's
    // clock: a Date a second coarse makes it late, never early). Far off,
    // it asks again in farOff; otherwise once more at a random moment of
    // the last nearStart, and then, at the start, the page opens the sale
    // itself and asks some two seconds after: a crowd waiting for the
    // start does not ask at the moment its buys arrive.
    function awaitStart(sale, until) {
      if (until > nearStart) {
        var at = Math.min(until - nearStart * (0.1 + 0.8 * Math.random()), farOff * (0.75 + Math.random() * 0.5));
        setTimeout(poll, Math.max(at, notBefore));
        return;
      }
      setTimeout(function () {
        var started = Object.assign({}, sale, { status: "active" });
        boxes.forEach(function (box) { show(box, started); });
      }, Math.max(until, 0));
      setTimeout(poll, Math.max(until, 0) + running * (0.75 + Math.random() * 0.5));
    }

    later(running);
  }

  // open shows a box's sale as running, from the page as it was made (the
  // start's own counts: all of the allocation is left).
  function open(box) {
    box.querySelectorAll("[data-when]").forEach(function (el) { el.hidden = el.dataset.when !== "active"; });
    box.querySelectorAll("[data-buy]").forEach(function (el) {
      if (el.tagName === "BUTTON") {
        el.disabled = false;
      } else {
        el.hidden = false;
      }
    });
  }

  // next is how long to wait before asking again about a sale that has
  // started; 0 once it ended.
  function next(sale) {
    if (sale.status === "ended") {
      return 0;
    }
    // Sold out: units come back only when an order is canceled or its hold
    // expires unpaid.
    return sale.items.some(function (it) { return !it.sold_out; }) ? running : soldOut;
  }

  function show(box, sale) {
    var left = box.dataset.leftText || "%d", soldOutText = box.dataset.soldOutText || "";
    var items = {};
    sale.items.forEach(function (it) { items[it.variant_id] = it; });
    var anyLeft = false, choiceGone = false;
    box.querySelectorAll("[data-left-of]").forEach(function (el) {
      var it = items[el.dataset.leftOf];
      if (!it) {
        return;
      }
      anyLeft = anyLeft || !it.sold_out;
      el.textContent = it.sold_out ? soldOutText : left.replace("%d", String(it.remaining));
    });
    box.querySelectorAll('input[name="variant_id"]').forEach(function (input) {
      var it = items[input.value];
      if (!it) {
        return;
      }
      if (it.sold_out && input.checked) {
        input.checked = false;
        choiceGone = true;
      }
      input.disabled = it.sold_out;
    });
    var active = sale.status === "active", open = active && anyLeft;
    box.querySelectorAll("[data-when]").forEach(function (el) {
      var when = el.dataset.when;
      el.hidden = when === "sold-out" ? !(active && !anyLeft) : when !== sale.status;
    });
    box.querySelectorAll("[data-choice-gone]").forEach(function (el) {
      if (choiceGone && anyLeft) {
        el.hidden = false;
      } else if (!anyLeft || box.querySelector('input[name="variant_id"]:checked')) {
        el.hidden = true;
      }
    });
    box.querySelectorAll("[data-buy]").forEach(function (el) {
      if (el.tagName === "BUTTON") {
        el.disabled = !open;
      } else {
        el.hidden = !open;
      }
    });
  }
})();
