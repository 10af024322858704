// GET /openapi.json and the rendered reference at GET /docs: Swagger UI from the swagger-ui-dist package,
// served from node_modules by this process (no CDN), with a page policy that allows only our own scripts.
import path from 'node:path';
import express, { Router } from 'express';
import { openApiDocument } from '../openapi';
import { pagePolicy } from '../security-headers';

const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>anvil-webhooks API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <main id="reference"></main>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/anvil-init.js"></script>
</body>
</html>
`;

// An external file, not an inline script: the page's CSP allows scripts from this origin only.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  tryItOutEnabled: false,
  validatorUrl: null,
});
`;

export function docsRouter(openapi: ReturnType<typeof openApiDocument>) {
  const router = Router();
  const document = JSON.stringify(openapi);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  // Swagger UI sets inline style attributes and loads its icons as data: URIs; scripts only from here.
  router.use(
    '/docs',
    pagePolicy({
      directives: {
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'form-action': ["'none'"],
      },
    }),
  );
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  // Page assets, not API operations: mounted with use() so the route table lists only the API.
  router.use('/docs/assets', (req, res, next) => {
    if (req.method === 'GET' && req.path === '/anvil-init.js') res.type('application/javascript').send(INIT);
    else next();
  });
  router.use('/docs/assets', express.static(SWAGGER_UI_DIR, { index: false, fallthrough: true, maxAge: '1h' }));
  return router;
}
