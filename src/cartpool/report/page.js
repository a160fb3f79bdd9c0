/* cartpool's only script, inline in every report page (report/page.js). Written by hand: it does two
   small things and a library would be larger than it. It loads nothing, stores nothing and changes
   only what the reader asks for; without it every table and source is still there, in print too.
   1. Long tables (class cp-sortable): sort by a column (its header is a button) and filter the rows.
   2. A figure row or number with a source (a[data-cp-src] in a figure): its quote shown on hover and
      on keyboard focus, next to it, as the sourced numbers in tables show theirs.
   3. A sourced number in a table (span.cp-src, whose tooltip the stylesheet shows on hover and focus):
      its tooltip kept inside the window, under the number (above it where there is no room below),
      and not cut off by the scrolling box of a wide table. */
(function () {
  "use strict";
  var NUMBER = /^[<>≥≤~]?\s*[−-]?\d+(?:[.,]\d+)?/;

  // the text a reader sees in a cell or row: without the tooltips of its sourced numbers (which name
  // a table, a row and a column), so that sorting and filtering read what the table shows
  function shownText(node) {
    if (!node) { return ""; }
    var copy = node.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll(".cp-tip"), function (t) { t.parentNode.removeChild(t); });
    return copy.textContent;
  }

  function cellText(cell) {
    return shownText(cell).replace(/\[\d+\]/g, "").replace(/\s+/g, " ").trim();
  }

  // a cell's sort key: its leading number where every filled cell of the column starts with one
  function sortKeys(rows, col) {
    var texts = rows.map(function (r) { return cellText(r.cells[col]); });
    var numeric = texts.every(function (t) { return t === "" || t === "—" || NUMBER.test(t); });
    return texts.map(function (t) {
      if (t === "" || t === "—") { return null; }
      if (!numeric) { return t.toLowerCase(); }
      return parseFloat(t.match(NUMBER)[0].replace(/^[<>≥≤~]\s*/, "").replace("−", "-").replace(",", "."));
    });
  }

  function sortable(table, n) {
    var body = table.tBodies[0];
    var head = table.tHead && table.tHead.rows[0];
    if (!body || !head) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    var status = document.createElement("span");
    status.className = "cp-count";
    status.setAttribute("role", "status");
    var tools = document.createElement("div");
    tools.className = "cp-tools";
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "search";
    input.id = "cp-filter-" + n;
    label.htmlFor = input.id;
    label.textContent = "Filter rows ";
    tools.appendChild(label);
    tools.appendChild(input);
    tools.appendChild(status);
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(tools, wrap);
    var texts = rows.map(function (r) { return shownText(r).toLowerCase(); });
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().trim();
      var shown = 0;
      rows.forEach(function (r, i) {
        var hit = !q || texts[i].indexOf(q) >= 0;
        r.hidden = !hit;
        shown += hit ? 1 : 0;
      });
      status.textContent = q ? shown + " of " + rows.length + " rows" : "";
    });
    Array.prototype.forEach.call(head.cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cp-sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        // ascending, then descending, then the published order
        var state = th.getAttribute("aria-sort");
        var next = state === "ascending" ? "descending" : state === "descending" ? "none" : "ascending";
        Array.prototype.forEach.call(head.cells, function (h) { h.removeAttribute("aria-sort"); });
        var order = rows.map(function (r, i) { return i; });
        if (next !== "none") {
          th.setAttribute("aria-sort", next);
          var keys = sortKeys(rows, col);
          var sign = next === "ascending" ? 1 : -1;
          order.sort(function (a, b) {
            var x = keys[a], y = keys[b];
            if (x === y) { return a - b; }
            if (x === null) { return 1; }  // missing values last, either way
            if (y === null) { return -1; }
            return (x < y ? -1 : 1) * sign;
          });
        }
        order.forEach(function (i) { body.appendChild(rows[i]); });
      });
    });
  }

  function sources() {
    var tip = document.createElement("div");
    tip.className = "cp-figtip";
    tip.id = "cp-figtip";
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    document.body.appendChild(tip);
    function show(a) {
      var title = a.querySelector("title");
      tip.textContent = title ? title.textContent : "";
      tip.hidden = false;
      var box = a.getBoundingClientRect();
      var left = Math.max(8, Math.min(box.left + window.scrollX, window.scrollX + document.documentElement.clientWidth
                                      - tip.offsetWidth - 8));
      tip.style.left = left + "px";
      tip.style.top = (box.bottom + window.scrollY + 4) + "px";
      a.setAttribute("aria-describedby", tip.id);
    }
    function hide(a) {
      tip.hidden = true;
      a.removeAttribute("aria-describedby");
    }
    Array.prototype.forEach.call(document.querySelectorAll("figure a[data-cp-src]"), function (a) {
      a.addEventListener("focus", function () { show(a); });
      a.addEventListener("blur", function () { hide(a); });
      a.addEventListener("mouseenter", function () { show(a); });
      a.addEventListener("mouseleave", function () { if (document.activeElement !== a) { hide(a); } });
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") { tip.hidden = true; } });
  }

  function tooltips() {
    var current = null;
    function place(span) {
      var tip = span.querySelector(".cp-tip");
      if (!tip) { return; }
      current = span;
      tip.style.position = "fixed";  // out of the table's scrolling box, which would cut it off
      var box = span.getBoundingClientRect();
      var room = document.documentElement.clientWidth;
      tip.style.left = Math.max(8, Math.min(box.left, room - tip.offsetWidth - 8)) + "px";
      var below = box.bottom + 4;
      var above = box.top - tip.offsetHeight - 4;
      tip.style.top = (below + tip.offsetHeight > window.innerHeight && above > 0 ? above : below) + "px";
    }
    Array.prototype.forEach.call(document.querySelectorAll(".cp-src"), function (span) {
      span.addEventListener("focus", function () { place(span); });
      span.addEventListener("mouseenter", function () { place(span); });
    });
    // the page or a table scrolls under a tooltip that is shown: it follows its number
    document.addEventListener("scroll", function () { if (current) { place(current); } }, true);
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.cp-sortable"), sortable);
  sources();
  tooltips();
})();
