/* xborder Data Docs: the interactions GX's pages use, in plain JavaScript so that the pages work
   offline (GX loads jQuery, Bootstrap, bootstrap-table and Vega from CDNs). */
(function () {
  "use strict";

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function showTab(link) {
    var nav = link.closest(".nav");
    all(".nav-link", nav).forEach(function (other) {
      other.classList.remove("active");
      other.setAttribute("aria-selected", "false");
    });
    link.classList.add("active");
    link.setAttribute("aria-selected", "true");
    var pane = document.getElementById((link.getAttribute("href") || "").slice(1));
    if (!pane) return;
    Array.prototype.forEach.call(pane.parentElement.children, function (sibling) {
      sibling.classList.remove("show", "active");
    });
    pane.classList.add("show", "active");
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle]");
    if (toggle && toggle.getAttribute("data-toggle") === "tab") {
      event.preventDefault();
      showTab(toggle);
      return;
    }
    if (toggle && toggle.getAttribute("data-toggle") === "collapse") {
      event.preventDefault();
      var id = (toggle.getAttribute("href") || toggle.getAttribute("data-target") || "").slice(1);
      var target = document.getElementById(id);
      if (target) {
        var open = target.classList.toggle("show");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      }
      return;
    }
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  function setVisible(elements, visible) {
    elements.forEach(function (element) {
      if (element) element.style.display = visible ? "" : "none";
    });
  }

  function succeededTargets() {
    var targets = all(".hide-succeeded-validation-target-child").map(function (el) {
      return el.parentElement;
    });
    targets = targets.concat(all(".hide-succeeded-validation-target"));
    all(".hide-succeeded-validations-column-section-target-child").forEach(function (el) {
      var section = el.parentElement && el.parentElement.parentElement;
      if (!section) return;
      targets.push(section);
      if (section.id) targets = targets.concat(all('a[href$="' + section.id + '"]'));
    });
    return targets;
  }

  function press(label) {
    if (!label) return;
    all(".btn", label.parentElement).forEach(function (button) {
      button.classList.remove("active");
    });
    label.classList.add("active");
  }

  window.showAllValidations = function (label) {
    press(label);
    setVisible(succeededTargets(), true);
  };

  window.hideSucceededValidations = function (label) {
    press(label);
    setVisible(succeededTargets(), false);
  };

  /* Charts need Vega (a CDN); none of the project's expectations draws one. */
  window.vegaEmbed = function (selector) {
    var element = document.querySelector(selector);
    if (element) element.textContent = "(chart not drawn: these Data Docs work offline)";
    return Promise.resolve();
  };
})();
