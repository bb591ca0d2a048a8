// Swagger UI on the service's own OpenAPI document. A file of its own: the pages'
// content security policy runs no inline script.
window.addEventListener("DOMContentLoaded", function () {
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
