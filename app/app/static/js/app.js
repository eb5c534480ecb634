// Ask the app which server and release answered, so an operator can watch the balancing.
"use strict";

(function () {
  const host = document.getElementById("api-host");
  const release = document.getElementById("api-release");
  if (!host) {
    return;
  }
  fetch("/api/info", { headers: { Accept: "application/json" }, cache: "no-store" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (info) {
      host.textContent = info.hostname;
      host.dataset.state = "done";
      release.textContent = info.release;
    })
    .catch(function (error) {
      host.textContent = "unavailable (" + error.message + ")";
      host.dataset.state = "failed";
    });
})();
