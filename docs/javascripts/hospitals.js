/* Hospital directory: filter the city sections by a <select>. Without JavaScript the page is a
   plain list of every city, and the filter stays hidden. Loaded by the hospitals page only
   (a <script defer> at the end of its template); does nothing where there is no filter.
   A link such as hospitals/#beijing preselects that city. */
(function () {
  "use strict";

  function setUp() {
    var filter = document.getElementById("cc-hospital-filter");
    var select = document.getElementById("cc-city");
    var count = document.getElementById("cc-filter-count");
    if (!filter || !select) {
      return;
    }
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.cc-city"));

    function apply(city) {
      var shown = 0;
      sections.forEach(function (section) {
        var match = !city || section.getAttribute("data-city") === city;
        section.hidden = !match;
        if (match) {
          shown += section.querySelectorAll("li").length;
        }
      });
      if (count) {
        count.textContent = city ? "共 " + shown + " 家" : "";
      }
    }

    select.addEventListener("change", function () {
      apply(select.value);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", select.value ? "#" + select.value : "#");
      }
    });

    function selectFromHash() {
      var wanted = decodeURIComponent(window.location.hash.replace(/^#/, ""));
      var known = Array.prototype.some.call(select.options, function (o) {
        return o.value === wanted;
      });
      if (wanted && known) {
        select.value = wanted;
        apply(wanted);
      }
    }
    selectFromHash();
    window.addEventListener("hashchange", selectFromHash);
    filter.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
