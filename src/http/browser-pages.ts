import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { compress } from 'hono/compress';

const require = createRequire(import.meta.url);
const GRAPHIQL_VERSION: string = require('@graphql-yoga/render-graphiql/package.json').version;
const SWAGGER_UI_VERSION: string = require('swagger-ui-dist/package.json').version;
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

const GRAPHIQL_ASSETS = `/assets/graphiql-${GRAPHIQL_VERSION}`;
const SWAGGER_UI_ASSETS = `/assets/swagger-ui-${SWAGGER_UI_VERSION}`;

const TYPES = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  png: 'image/png',
  ico: 'image/x-icon',
} as const;

interface Asset {
  type: (typeof TYPES)[keyof typeof TYPES];
  cacheControl: string;
  read(): Promise<string | Uint8Array<ArrayBuffer>>;
}

/** A file of a pinned package: its URL names the version, so browsers may keep it for good. */
const packaged = (type: Asset['type'], read: Asset['read']): Asset => ({ type, read, cacheControl: 'public, max-age=31536000, immutable' });

/** GraphiQL as @graphql-yoga/render-graphiql bundles it (its code, style, icon and Monaco's workers). */
const graphiql = () => import('@graphql-yoga/render-graphiql/graphiql');
const swaggerUiFile = (type: Asset['type'], name: string) => packaged(type, () => readFile(join(SWAGGER_UI_DIR, name)));

/**
 * Our own start-up code, as files rather than inline scripts so that a Content-Security-Policy of
 * `script-src 'self'` covers every script of both pages. It changes with the gateway, not with a
 * package version: revalidated on every load.
 */
const startScript = (code: string): Asset => ({ type: TYPES.js, read: async () => code, cacheControl: 'no-cache' });

const ASSETS = new Map<string, Asset>([
  [`${GRAPHIQL_ASSETS}/graphiql.js`, packaged(TYPES.js, async () => (await graphiql()).js)],
  [`${GRAPHIQL_ASSETS}/graphiql.css`, packaged(TYPES.css, async () => (await graphiql()).css)],
  [`${GRAPHIQL_ASSETS}/favicon.ico`, packaged(TYPES.ico, async () => Buffer.from((await graphiql()).favicon.split(',')[1]!, 'base64'))],
  // Named by the labels Monaco asks MonacoEnvironment.getWorkerUrl for.
  [`${GRAPHIQL_ASSETS}/editorWorkerService.worker.js`, packaged(TYPES.js, async () => (await graphiql()).editorWorkerService)],
  [`${GRAPHIQL_ASSETS}/json.worker.js`, packaged(TYPES.js, async () => (await graphiql()).jsonWorker)],
  [`${GRAPHIQL_ASSETS}/graphql.worker.js`, packaged(TYPES.js, async () => (await graphiql()).graphqlWorker)],
  [
    '/assets/graphiql-start.js',
    startScript(`self.MonacoEnvironment = {
  globalAPI: false,
  getWorkerUrl: (_moduleId, label) => '${GRAPHIQL_ASSETS}/' + label + '.worker.js',
};
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), {});
`),
  ],
  [`${SWAGGER_UI_ASSETS}/swagger-ui-bundle.js`, swaggerUiFile(TYPES.js, 'swagger-ui-bundle.js')],
  [`${SWAGGER_UI_ASSETS}/swagger-ui.css`, swaggerUiFile(TYPES.css, 'swagger-ui.css')],
  [`${SWAGGER_UI_ASSETS}/favicon-32x32.png`, swaggerUiFile(TYPES.png, 'favicon-32x32.png')],
  // Where an identity provider sends the browser back after "Authorize" with OpenID Connect.
  [`${SWAGGER_UI_ASSETS}/oauth2-redirect.html`, swaggerUiFile(TYPES.html, 'oauth2-redirect.html')],
  [`${SWAGGER_UI_ASSETS}/oauth2-redirect.js`, swaggerUiFile(TYPES.js, 'oauth2-redirect.js')],
  [
    '/assets/swagger-ui-start.js',
    startScript(`window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The default would show a badge fetched from validator.swagger.io.
  validatorUrl: null,
  oauth2RedirectUrl: new URL('${SWAGGER_UI_ASSETS}/oauth2-redirect.html', location.href).href,
});
`),
  ],
]);

const GRAPHIQL_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>chat-gateway GraphiQL</title>
    <link rel="icon" href="${GRAPHIQL_ASSETS}/favicon.ico" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS}/graphiql.css" />
    <script src="${GRAPHIQL_ASSETS}/graphiql.js" defer></script>
    <script src="/assets/graphiql-start.js" defer></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
  </body>
</html>
`;

const SWAGGER_UI_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>chat-gateway REST API</title>
    <link rel="icon" type="image/png" href="${SWAGGER_UI_ASSETS}/favicon-32x32.png" />
    <link rel="stylesheet" href="${SWAGGER_UI_ASSETS}/swagger-ui.css" />
    <script src="${SWAGGER_UI_ASSETS}/swagger-ui-bundle.js" defer></script>
    <script src="/assets/swagger-ui-start.js" defer></script>
  </head>
  <body>
    <noscript>The API browser needs JavaScript; the description itself is at /openapi.json.</noscript>
    <div id="swagger-ui"></div>
  </body>
</html>
`;

/**
 * What the two pages may load: their own scripts (no inline script, no other host), and inline styles,
 * which both UIs set at run time.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GraphiQL (`GET /graphql` from a browser, unless `graphiql` is off) and Swagger UI (`GET /docs`), served with every script, style
 * and icon from installed, pinned packages: nothing is loaded from another host, so both work offline and
 * behind a firewall. They are pages, not API calls: mounted ahead of authentication (GraphiQL sends the
 * credential with each operation, from its headers editor).
 */
export function browserPages(options: { graphiql: boolean }): Hono {
  const pages = new Hono();
  // The app's security headers keep a policy already set (the API's allows nothing).
  const policy = { 'content-security-policy': PAGE_POLICY };

  // What Yoga's own GraphiQL answers: a GET that accepts HTML. Every other request is GraphQL's.
  if (options.graphiql) {
    pages.get('/graphql', (c, next) => (c.req.header('accept')?.includes('text/html') ? c.html(GRAPHIQL_PAGE, 200, policy) : next()));
  }
  pages.get('/docs', (c) => c.html(SWAGGER_UI_PAGE, 200, policy));

  pages.use('/assets/*', compress());
  pages.get('/assets/*', async (c) => {
    const asset = ASSETS.get(c.req.path);
    if (!asset) return c.json({ detail: `No asset ${c.req.path}`, code: 'NOT_FOUND' }, 404);
    return c.body(await asset.read(), 200, { 'content-type': asset.type, 'cache-control': asset.cacheControl });
  });
  return pages;
}
