/* utfall: draws the Vega-Lite charts and makes result tables sortable. Every page works
   without this file: each chart has a table with the same numbers.
   The specs come from <script type="application/json"> blocks (no inline script, strict CSP);
   vega evaluates expressions with its interpreter (ast + expressionInterpreter), never eval. */
(function () {
  "use strict";

  // The axes' numbers as the page's tables write them: a decimal comma in Swedish, a point in
  // English (issue 17 point 15).
  var SWEDISH = { decimal: ",", thousands: "\u00a0", grouping: [3], currency: ["", "\u00a0kr"], percent: "\u00a0%" };
  var ENGLISH = { decimal: ".", thousands: ",", grouping: [3], currency: ["", "\u00a0kr"], percent: "%" };

  function wrapped(text, perLine) {
    var lines = [], line = "";
    text.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > perLine) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines.length > 1 ? lines : text;
  }

  function drawCharts(root) {
    if (!window.vegaEmbed || !window.vega || !window.vega.expressionInterpreter) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      el.dataset.drawn = "1";
      var spec = JSON.parse(source.textContent);
      // On a phone, long category names (indicators, providers) would push the chart past the
      // screen: their labels are cut to a third of the width (the table beside has them whole).
      var width = el.clientWidth || 0;
      if (width && width < 600) {
        var limit = Math.max(80, Math.floor(width / 3));
        spec.config = spec.config || {};
        spec.config.axis = Object.assign({}, spec.config.axis, { labelLimit: limit });
        spec.config.title = Object.assign({}, spec.config.title, { limit: width - 16 });
        // A title longer than the screen is wrapped into lines (about 8 px a bold character).
        if (typeof spec.title === "string") { spec.title = { text: wrapped(spec.title, Math.floor((width - 16) / 8)) }; }
        ["x", "y"].forEach(function (channel) {
          var axis = spec.encoding && spec.encoding[channel] && spec.encoding[channel].axis;
          if (axis && axis.labelLimit > limit) { axis.labelLimit = limit; }
        });
      }
      el.textContent = "";
      var english = (document.documentElement.lang || "sv").slice(0, 2) === "en";
      window.vegaEmbed(el, spec, {
        renderer: "svg",
        actions: false,
        defaultStyle: false,
        formatLocale: english ? ENGLISH : SWEDISH,
        ast: true,
        expr: window.vega.expressionInterpreter,
        tooltip: { disableDefaultStyle: true, theme: "light" }
      }).then(function () {
        // The frame (role="img") carries the chart's text; the drawing itself is hidden from
        // assistive technology, so empty or unnamed marks are never announced (axe svg-img-alt).
        var svg = el.querySelector("svg");
        if (svg) { svg.setAttribute("aria-hidden", "true"); }
      }).catch(function (error) {
        el.textContent = english ? "The chart could not be drawn. The table has the same figures."
          : "Diagrammet kunde inte visas. Samma siffror finns i tabellen.";
        if (window.console) { window.console.error(error); }
      });
    });
  }

  function sortValue(row, key) {
    var cell = row.querySelector('[data-key="' + key + '"]');
    return cell ? cell.getAttribute("data-sort") || "" : "";
  }

  function compare(a, b) {
    // Empty (suppressed) values always last; numbers as numbers; text in Swedish order.
    if (a === "" || b === "") { return a === b ? 0 : (a === "" ? 1 : -1); }
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) { return x - y; }
    return a.localeCompare(b, "sv");
  }

  function makeSortable(table) {
    if (table.dataset.sortable) { return; }
    table.dataset.sortable = "1";
    var headers = table.querySelectorAll("thead th[data-key]");
    headers.forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var key = th.dataset.key;
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = sortValue(r1, key), b = sortValue(r2, key);
          var order = compare(a, b);
          if (a === "" || b === "") { return order; }
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function init(root) {
    drawCharts(root);
    root.querySelectorAll("table.sortable").forEach(makeSortable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    document.body.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
  });
})();
