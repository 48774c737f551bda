/**
 * GraphiQL and /docs in a real browser (Debian's Chromium, driven by playwright-core), offline: every
 * request to another host is refused and recorded, and the pages are served under the Content-Security-Policy
 * they are meant to run with, so that a script, style, worker or font from elsewhere, or an inline one,
 * fails the test. `.ci/run` installs Chromium; without /usr/bin/chromium this file says so and skips.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, listen, type TestApp } from '../support/app.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * What the two pages need, and no more: their own scripts, workers and styles (GraphiQL's editor sets
 * style attributes and <style> elements as it runs, hence 'unsafe-inline' for styles only), and the
 * fonts and images their style sheets inline as data: URLs.
 */
export const PAGES_CSP =
  "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const available = existsSync(CHROMIUM);
if (!available) console.warn(`Skipping the browser checks: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does).`);

// The pages do not touch the database: one project is enough.
describe.skipIf(!available || process.env.TEST_STORE === 'postgres')('the pages in Chromium, offline', () => {
  let app: TestApp;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  /** Requests to any other origin, refused. */
  const foreign: string[] = [];
  /** Uncaught errors and console errors (CSP violations are reported there). */
  const problems: string[] = [];

  beforeAll(async () => {
    app = await createTestApp();
    server = await listen(app);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    context = await browser.newContext();
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin !== server.url) {
        foreign.push(url);
        return route.abort('blockedbyclient');
      }
      const response = await route.fetch();
      const headers = response.headers();
      if (headers['content-type']?.startsWith('text/html')) headers['content-security-policy'] = PAGES_CSP;
      return route.fulfill({ response, headers });
    });
    context.on('weberror', (error) => problems.push(`${error.error().message}`));
    context.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
  });

  it('GraphiQL loads the schema and runs a query', async () => {
    const page = await context.newPage();
    const introspection = page.waitForResponse(
      (response) => response.request().method() === 'POST' && /__schema/.test(response.request().postData() ?? ''),
    );
    await page.goto(`${server.url}/graphql`);
    expect((await introspection).status()).toBe(200);
    await page.locator('.graphiql-query-editor .monaco-editor').first().click();
    await page.keyboard.press('ControlOrMeta+A');
    // The editor closes each brace as it is typed.
    await page.keyboard.type('{ chats { edges');
    // Field suggestions from the schema (the GraphQL worker runs) cover the run button: close them.
    await page.locator('.suggest-widget.visible').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.graphiql-execute-button').click();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the text as the reader sees it, which is what is checked
    await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 20_000 }).toMatch(/"edges":\s*\[\]/);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('/docs renders every operation of the OpenAPI description', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/docs`);
    await expect
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the text as the reader sees it, which is what is checked
      .poll(() => page.locator('.swagger-ui .info .title').innerText(), { timeout: 20_000 })
      .toContain('chat-gateway legacy REST API');
    const document = await (await app.request('/openapi.json')).json();
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item as object));
    expect(await page.locator('.opblock').count()).toBe(operations.length);
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
