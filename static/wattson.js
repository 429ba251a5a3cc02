// Small shared behaviour for every page. Loaded with `defer`; no inline scripts (CSP).
(function () {
  "use strict";

  // A "Copy" button on copy-paste examples (<pre class="copy">).
  function addCopyButtons() {
    if (!navigator.clipboard) {
      return; // not a secure context: selecting the text by hand still works
    }
    document.querySelectorAll("pre.copy").forEach(function (block) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(block.innerText.replace(/\n$/, "")).then(
          function () {
            button.textContent = "Copied";
            setTimeout(function () { button.textContent = "Copy"; }, 1500);
          },
          function () { button.textContent = "Copy failed"; }
        );
      });
      var wrapper = document.createElement("div");
      wrapper.className = "copy-wrap";
      block.parentNode.insertBefore(wrapper, block);
      wrapper.appendChild(block);
      wrapper.appendChild(button);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addCopyButtons);
  } else {
    addCopyButtons();
  }
})();
