/* utfall: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function checkedValue(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function setEnabled(container, enabled) {
    container.hidden = !enabled;
    container.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.disabled = !enabled;
    });
  }

  // Questions asked only for some answers to an earlier one (e.g. 5 only when 4 says improved),
  // and the questions shown only for a completed follow-up. Hidden inputs are disabled, so
  // they are not sent; without JavaScript all are shown and the server checks the rule.
  function update(form) {
    var status = checkedValue(form, "status");
    form.querySelectorAll("[data-show-when-status]").forEach(function (section) {
      setEnabled(section, status === "" || status === section.dataset.showWhenStatus);
    });
    form.querySelectorAll("[data-condition-question]").forEach(function (group) {
      var wanted = group.dataset.conditionOptions.split(" ");
      var answer = checkedValue(form, group.dataset.conditionQuestion);
      var sectionHidden = group.closest("[hidden]") !== null;
      var show = wanted.indexOf(answer) !== -1;
      if (!show) {
        group.querySelectorAll("input").forEach(function (el) { el.checked = false; });
      }
      if (!sectionHidden) { setEnabled(group, show); } else { group.hidden = !show; }
      // The question's "Hur frågar jag?" link and feedback checkbox follow it.
      var tools = group.nextElementSibling;
      if (tools && tools.classList.contains("question-tools")) {
        if (!sectionHidden) { setEnabled(tools, show); } else { tools.hidden = !show; }
      }
    });
  }

  // A select whose options carry data-services shows only those of the chosen service
  // (the provider list of "Ny insats"); a provider without any contract is always offered.
  function filterOptions(select, form) {
    var chosen = form.querySelector('[name="' + select.dataset.filterBy + '"]');
    if (!chosen) { return; }
    var update = function () {
      select.querySelectorAll("option[data-services]").forEach(function (option) {
        var services = option.dataset.services.split(" ");
        var offered = !chosen.value || !option.dataset.services || services.indexOf(chosen.value) !== -1;
        option.hidden = !offered;
        option.disabled = !offered;
        if (!offered && option.selected) { select.value = ""; }
      });
    };
    update();
    chosen.addEventListener("change", update);
  }

  function init(root) {
    root.querySelectorAll("select[data-filter-by]").forEach(function (select) {
      filterOptions(select, select.form);
    });
    root.querySelectorAll("form.followup-form").forEach(function (form) {
      update(form);
      form.addEventListener("change", function () { update(form); });
    });
    root.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () {
        // One submission per click; the server is idempotent anyway.
        form.querySelectorAll("button[data-once]").forEach(function (b) {
          window.setTimeout(function () { b.disabled = true; }, 0);
        });
      });
    });
    root.querySelectorAll("button[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    var summary = root.querySelector("#error-summary");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
