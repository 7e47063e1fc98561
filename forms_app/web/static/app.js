// Progressive enhancement only: the forms work without it.
// 1. Hospitals: show only the hospitals of the chosen city.
// 2. Applicant fields: show name and phone only when someone other than the insured applies.
(function () {
  "use strict";
  var city = document.getElementById("city");
  var hospital = document.getElementById("hospital");
  if (city && hospital) {
    var groups = Array.prototype.slice.call(hospital.querySelectorAll("optgroup"));
    var filter = function () {
      var chosen = city.value;
      groups.forEach(function (group) {
        var match = false;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (opt) {
          var show = !chosen || chosen === "other" || opt.getAttribute("data-city") === chosen;
          opt.hidden = !show;
          opt.disabled = !show;
          if (show) { match = true; }
        });
        group.hidden = !match;
      });
      var selected = hospital.options[hospital.selectedIndex];
      if (selected && selected.disabled) { hospital.value = ""; }
    };
    city.addEventListener("change", filter);
    filter();
  }
  var relations = document.querySelectorAll("input[name='applicant_relation']");
  var nameField = document.getElementById("applicant_name-field");
  var phoneField = document.getElementById("applicant_phone-field");
  if (relations.length && nameField && phoneField) {
    var update = function () {
      var checked = document.querySelector("input[name='applicant_relation']:checked");
      var self = !checked || checked.value === "本人";
      var hasError = nameField.classList.contains("app-field--error") ||
        phoneField.classList.contains("app-field--error");
      nameField.hidden = self && !hasError;
      phoneField.hidden = self && !hasError;
    };
    Array.prototype.forEach.call(relations, function (r) { r.addEventListener("change", update); });
    update();
  }
  var summary = document.getElementById("refusal") || document.getElementById("error-summary");
  if (summary) { summary.focus(); }
}());
