// Swagger UI on the service's own OpenAPI document. A file of its own: the pages'
// content security policy runs no inline script.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");

  // Swagger UI's pictures are icons beside a text that says the same (its sprite sheet,
  // the arrows of the buttons): hidden from assistive technologies, so that a screen
  // reader reads the text once and no picture lacks its alternative.
  function hideIcons() {
    root.querySelectorAll("svg:not([aria-hidden]):not([aria-label])").forEach(function (svg) {
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
    });
  }
  new MutationObserver(hideIcons).observe(root, { childList: true, subtree: true });

  window.ui = SwaggerUIBundle({
    url: "/api/open-api.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No call to the public validator: the page talks to this service only.
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
  });
});
