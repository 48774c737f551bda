/**
 * GraphiQL and /docs load nothing from another host: every script, style and icon their HTML names is
 * served here, from installed packages. (test/http/browsers.test.ts loads them in Chromium.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ AUTH: 'required' });
});
afterAll(() => app.close());

const PAGES = [
  ['GraphiQL', '/graphql', { accept: 'text/html,application/xhtml+xml' }],
  ['Swagger UI', '/docs', {}],
] as const;

/** Every URL an attribute of `html` names (src, href, action…). */
const attributeUrls = (html: string) =>
  [...html.matchAll(/\b(?:src|href|action|srcset|poster|data)\s*=\s*["']([^"']*)["']/gi)].map((match) => match[1]!);

describe.each(PAGES)('%s', (_name, path, headers) => {
  it('names no other host, and runs no inline script or style', async () => {
    const response = await app.request(path, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();

    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
    const urls = attributeUrls(html);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^\/(?!\/)/);
    // Every <script> has a src: a CSP of script-src 'self' needs no hash or nonce.
    for (const script of html.match(/<script\b[^>]*>/gi) ?? []) expect(script).toMatch(/\ssrc="/);
    expect(html).not.toMatch(/<style\b|\sstyle="/i);
  });

  it('serves every file the page names, from here, without a credential', async () => {
    const html = await (await app.request(path, { headers })).text();
    for (const url of attributeUrls(html)) {
      const asset = await app.request(url);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get('content-type'), url).toMatch(
        url.endsWith('.js') ? /^text\/javascript/ : url.endsWith('.css') ? /^text\/css/ : /^image\//,
      );
      const body = await asset.text();
      expect(body.length, url).toBeGreaterThan(100);
      if (url.includes('-start.js')) expect(body, url).not.toMatch(/https?:\/\//);
    }
  });
});

describe('assets', () => {
  it('keeps a packaged file for good (its URL names the version), revalidates our start scripts', async () => {
    const page = await (await app.request('/graphql', { headers: { accept: 'text/html' } })).text();
    const [bundle] = attributeUrls(page).filter((url) => url.endsWith('graphiql.js'));
    expect(bundle).toMatch(/^\/assets\/graphiql-\d+\.\d+\.\d+\/graphiql\.js$/);
    expect((await app.request(bundle!)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await app.request('/assets/graphiql-start.js')).headers.get('cache-control')).toBe('no-cache');
  });

  it("serves Monaco's workers from here, under the labels GraphiQL asks for", async () => {
    const start = await (await app.request('/assets/graphiql-start.js')).text();
    const base = /'(\/assets\/graphiql-[^']+\/)'/.exec(start)![1];
    for (const label of ['editorWorkerService', 'json', 'graphql']) {
      const worker = await app.request(`${base}${label}.worker.js`);
      expect(worker.status, label).toBe(200);
      expect(worker.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
  });

  it('compresses them for clients that accept it', async () => {
    const response = await app.request('/assets/graphiql-start.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
  });

  it('answers 404 for any other file, of the packages or not', async () => {
    const docs = await (await app.request('/docs')).text();
    const packageDir = /"(\/assets\/swagger-ui-[^/]+)\//.exec(docs)![1];
    for (const path of ['/assets/graphiql-0.0.0/graphiql.js', `${packageDir}/package.json`, `${packageDir}/index.html`, '/assets/']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});
