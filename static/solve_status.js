// Live status of a running solve on the finding page. Polls the panel's JSON status endpoint
// while a run is queued or running, shows the latest steps, and reloads once it finishes so the
// page shows the proposal (or the refusals). Text only: nothing from the server becomes HTML.
(function () {
  "use strict";
  var panel = document.getElementById("solve-panel");
  if (!panel) {
    return;
  }
  var url = panel.getAttribute("data-status-url");
  var statusLine = document.getElementById("solve-status");
  var steps = document.getElementById("solve-steps");
  var wasActive = panel.getAttribute("data-active") === "1";
  var delay = 1500;
  var maxDelay = 15000;

  function describe(run) {
    var text = "The solver is " + run.status_label.toLowerCase() + ": run " + run.id +
      " (" + run.backend + (run.attempts > 1 ? ", attempt " + run.attempts : "") +
      ") for revision " + run.revision + "…";
    return text;
  }

  function showSteps(run) {
    while (steps.firstChild) {
      steps.removeChild(steps.firstChild);
    }
    run.steps.forEach(function (step) {
      var item = document.createElement("li");
      item.textContent = step.tool + (step.summary ? ": " + step.summary : "");
      if (step.error) {
        item.className = "step-error";
      }
      steps.appendChild(item);
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        delay = 1500;
        if (data.active && data.run) {
          statusLine.textContent = describe(data.run);
          showSteps(data.run);
          window.setTimeout(poll, delay);
        } else if (wasActive) {
          statusLine.textContent = "The solver finished: " +
            (data.run ? data.run.status_label.toLowerCase() : "done") + ". Loading the result…";
          window.location.reload();
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, maxDelay);
        window.setTimeout(poll, delay);
      });
  }

  if (wasActive) {
    window.setTimeout(poll, delay);
  }
})();
