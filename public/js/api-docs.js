// Starts Swagger UI on the API reference page (/api/v1/docs): from a file, as the CSP allows no inline script.
(function () {
  var el = document.getElementById('api-reference');
  // eslint-disable-next-line no-undef
  SwaggerUIBundle({ url: el.getAttribute('data-url'), dom_id: '#api-reference', deepLinking: true, tryItOutEnabled: false, persistAuthorization: false });
})();
