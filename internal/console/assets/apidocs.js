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
    // Never ask validator.swagger.io to check the spec (its badge would
    // send the spec's URL to a third party).
    validatorUrl: null,
    requestInterceptor: (req) => { req.credentials = "same-origin"; return req; },
  });
})();
