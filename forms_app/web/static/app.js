// Progressive enhancement only: the forms work without it.
// 1. Hospitals: show only the hospitals of the chosen city.
// 2. Applicant fields: show name and phone only when someone other than the insured applies.
// 3. Files too large are named at their field before anything is sent: a request over the
//    server's limit can only end in a page of its own, and the way back loses typed values.
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
  var form = document.querySelector("form[data-max-file]");
  if (form && window.FileList) {
    var maxFile = parseInt(form.getAttribute("data-max-file"), 10);
    var maxTotal = parseInt(form.getAttribute("data-max-total"), 10);
    var mb = function (n) { return Math.round(n / 1048576); };
    form.addEventListener("submit", function (event) {
      var total = 0;
      var first = null;
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
        var field = input.closest(".app-field");
        var old = field && field.querySelector(".app-error--size");
        if (old) { old.parentNode.removeChild(old); }
        var problems = [];
        Array.prototype.forEach.call(input.files || [], function (file) {
          total += file.size;
          if (file.size > maxFile) {
            problems.push("文件“" + file.name + "”超过" + mb(maxFile) + "MB，请压缩或分成几个文件上传。");
          }
        });
        if (problems.length && field) {
          var p = document.createElement("p");
          p.className = "app-error app-error--size";
          p.setAttribute("role", "alert");
          p.textContent = problems.join(" ");
          field.insertBefore(p, input);
          first = first || input;
        }
      });
      if (!first && total > maxTotal) {
        var inputs = form.querySelectorAll("input[type=file]");
        first = inputs[inputs.length - 1];
        var field = first.closest(".app-field");
        var p = document.createElement("p");
        p.className = "app-error app-error--size";
        p.setAttribute("role", "alert");
        p.textContent = "所选文件合计超过" + mb(maxTotal) + "MB：请减少文件，或先提交申请，之后在进度页面补交。";
        field.insertBefore(p, first);
      }
      if (first) {
        event.preventDefault();
        first.focus();
      }
    });
  }
  var summary = document.getElementById("refusal") || document.getElementById("error-summary");
  if (summary) { summary.focus(); }
}());
