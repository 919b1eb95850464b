// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  token = token ? token.content : "";

  // Live tab counts on the orders view.
  var tabs = document.querySelector("[data-live-counts]");
  if (tabs) {
    var refresh = function () {
      fetch(tabs.dataset.liveCounts, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (counts) {
          if (!counts) return;
          tabs.querySelectorAll(".count").forEach(function (el) {
            if (el.dataset.tab in counts) el.textContent = counts[el.dataset.tab];
          });
        })
        .catch(function () {});
    };
    setInterval(refresh, 5000);
  }

  // "Try a code": answer in place instead of submitting the form.
  var tryButton = document.getElementById("try-button");
  if (tryButton) {
    tryButton.addEventListener("click", function (event) {
      event.preventDefault();
      var form = tryButton.form;
      var out = document.getElementById("try-result");
      fetch(form.dataset.tryUrl, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRF-Token": token, Accept: "application/json" }
      })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          out.textContent = res.ok ? ("→ " + res.transporter + ", code sent: " + res.code) : res.error;
          out.className = res.ok ? "" : "field-error";
        })
        .catch(function () { out.textContent = "could not reach orderbridge"; });
    });
  }

  // Ask before destructive forms.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
