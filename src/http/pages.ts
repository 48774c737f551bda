import { createHash } from 'node:crypto';
import { SwaggerUI } from '@hono/swagger-ui';
import { renderGraphiQL } from 'graphql-yoga';

/** An HTML page rendered once, at start-up, with the Content-Security-Policy that lets it run. */
export interface HtmlPage {
  html: string;
  contentSecurityPolicy: string;
}

/**
 * GraphiQL as Yoga renders it: its code, styles and editor workers come from unpkg.com (the editor
 * fetches the workers' code and starts them from blob: URLs) and its styles are partly inline.
 */
export function graphiqlPage(): HtmlPage {
  const html = renderGraphiQL({});
  return {
    html,
    contentSecurityPolicy: pagePolicy(html, 'https://unpkg.com', { 'connect-src': ['https://unpkg.com'], 'worker-src': ['blob:'] }),
  };
}

/** Swagger UI for the REST API's OpenAPI description; its code and styles come from cdn.jsdelivr.net. */
export function docsPage(): HtmlPage {
  // validatorUrl 'none': Swagger UI would otherwise send the description's URL to validator.swagger.io.
  const swagger = SwaggerUI({ url: '/openapi.json', validatorUrl: 'none' });
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>chat-gateway REST API</title>
  </head>
  <body>${swagger}</body>
</html>`;
  return { html, contentSecurityPolicy: pagePolicy(html, 'https://cdn.jsdelivr.net', {}) };
}

/**
 * Nothing by default; scripts from `assetHost` and the page's own inline scripts (by hash, since the
 * page is fixed); styles, fonts and images from `assetHost` (inline styles too: both UIs set them
 * at run time); requests to this gateway. Never framed.
 */
function pagePolicy(html: string, assetHost: string, extra: Record<string, string[]>): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': [assetHost, ...inlineScriptHashes(html)],
    'style-src': [assetHost, "'unsafe-inline'"],
    'font-src': [assetHost, 'data:'],
    'img-src': ["'self'", assetHost, 'data:'],
    'connect-src': ["'self'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  for (const [name, sources] of Object.entries(extra)) directives[name] = [...(directives[name] ?? []), ...sources];
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/** CSP hash sources of the page's inline `<script>` elements (those without attributes, hence no `src`). */
function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, script]) => `'sha256-${createHash('sha256').update(script ?? '').digest('base64')}'`,
  );
}
