import path from 'node:path';
import { Router } from 'express';
import { ROUTER_OPTIONS } from './router';

/**
 * The API's description, public: /api/v1/openapi.json (generated, web/openapi.ts) and a reference
 * page at /api/v1/docs drawn by Swagger UI from the package itself (no CDN; the strict CSP allows
 * scripts from 'self' only, so the page starts it from a file, public/js/api-docs.js).
 */
export function apiDocsRouter(document: unknown): Router {
  const r = Router(ROUTER_OPTIONS);
  const json = JSON.stringify(document);
  r.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(json);
  });
  const dist = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets: Record<string, string> = { 'swagger-ui.css': 'text/css', 'swagger-ui-bundle.js': 'text/javascript' };
  for (const [file, type] of Object.entries(assets)) {
    r.get(`/docs/${file}`, (_req, res) => {
      res.sendFile(path.join(dist, file), { maxAge: '1d', headers: { 'Content-Type': type } });
    });
  }
  r.get('/docs', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('html').send(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API reference · VoIP Billing</title>
  <link rel="stylesheet" href="/api/v1/docs/swagger-ui.css">
  <link rel="icon" href="/favicon.ico">
</head>
<body>
  <div id="api-reference" data-url="/api/v1/openapi.json"></div>
  <script src="/api/v1/docs/swagger-ui-bundle.js"></script>
  <script src="/public/js/api-docs.js"></script>
</body>
</html>`);
  });
  return r;
}
