// The instance's API docs: Swagger UI (vendored) on the console's cut of
// the OpenAPI document. Requests go to the console, which answers them
// through the session.
"use strict";
(() => {
  const el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.spec,
    domNode: el,
    deepLinking: false,
    tryItOutEnabled: true,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    requestInterceptor: (req) => { req.credentials = "same-origin"; return req; },
  });
})();
