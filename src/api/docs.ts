import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context } from 'hono';
import type { App } from './context.ts';

/*
 * /docs: the API reference, rendered by Swagger UI from the files of the npm package
 * `swagger-ui-dist`, pinned to one exact version in package.json and served by shipslog
 * itself. Nothing comes from a CDN, so the page works without internet (issue 13, item 5).
 * Why Swagger UI and not Scalar's own bundle: swagger-ui-dist is 2 packages and 13 MB in the
 * image; @scalar/api-reference, whose bundle we would serve, pulls 284 packages and 311 MB.
 * The page runs no inline script (its setup is /docs/init.js), so its Content-Security-Policy
 * allows scripts from this origin only.
 */

const distDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// The only files served from the package: nothing else in it can be fetched through /docs.
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

// Swagger UI sets element styles through the DOM from its scripts, which style-src does not
// restrict; test/api/docs-browser.test.ts sees no CSP violation with this policy. Images may
// be data: URLs (its SVG icons).
export const docsCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shipslog API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise load a badge image from validator.swagger.io.
const init = `'use strict';
window.ui = SwaggerUIBundle({
  url: document.getElementById('swagger-ui').dataset.openapiUrl,
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

const cache = new Map<string, Buffer>();

function headers(c: Context, type: string, cacheControl: string): void {
  c.header('content-type', type);
  c.header('cache-control', cacheControl);
  c.header('content-security-policy', docsCsp);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
}

export function registerDocs(app: App): void {
  app.get('/docs', (c) => {
    headers(c, 'text/html; charset=utf-8', 'no-cache');
    return c.body(page);
  });
  app.get('/docs/init.js', (c) => {
    headers(c, 'text/javascript; charset=utf-8', 'no-cache');
    return c.body(init);
  });
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(assets, file) ? assets[file] : undefined;
    if (!type) return c.notFound();
    let body = cache.get(file);
    if (!body) {
      body = await readFile(path.join(distDir, file));
      cache.set(file, body);
    }
    // An hour: the files change only with the pinned version, at an upgrade of shipslog.
    headers(c, type, 'public, max-age=3600');
    return c.body(new Uint8Array(body));
  });
}
