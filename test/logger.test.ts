import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger, scrubSecrets } from '../src/logger.ts';

function capturingLogger(env: Record<string, string> = {}) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(loadConfig({ LOG_LEVEL: 'info', ...env }), sink), lines };
}

describe('logging without credentials', () => {
  it.each([
    ['a Hugging Face token', 'failed with token hf_AbCdEfGhIjKlMnOp', 'failed with token hf_[REDACTED]'],
    ['a bearer token', 'Authorization: Bearer abc.def-ghi_jkl==', 'Authorization: Bearer [REDACTED]'],
    [
      'an api_key parameter',
      'GET https://serpapi.com/search?q=x&api_key=0123456789abcdef&num=5',
      'GET https://serpapi.com/search?q=x&api_key=[REDACTED]&num=5',
    ],
    [
      'an access_token parameter',
      '/conversations/inference/x?access_token=eyJhbGciOi',
      '/conversations/inference/x?access_token=[REDACTED]',
    ],
  ])('scrubs %s from text', (_case, text, scrubbed) => {
    expect(scrubSecrets(text)).toBe(scrubbed);
  });

  it('redacts authorization headers and credentials by field name', () => {
    const { logger, lines } = capturingLogger();
    logger.info(
      { req: { headers: { authorization: 'Basic dXNlcjpwYXNz', cookie: 'session=1' } }, options: { apiKey: 'k1', accessToken: 't1' } },
      'call',
    );
    const record = JSON.parse(lines[0]!);
    expect(record.req.headers).toEqual({ authorization: '[REDACTED]', cookie: '[REDACTED]' });
    expect(record.options).toEqual({ apiKey: '[REDACTED]', accessToken: '[REDACTED]' });
  });

  it('removes the configured HF_TOKEN and SERPAPI_API_KEY wherever they appear, whatever their format', () => {
    const { logger, lines } = capturingLogger({
      TGI_URL: 'https://tgi.example.com',
      HF_TOKEN: 'custom-token-1234',
      SERPAPI_API_KEY: 'serp-key-5678',
    });
    logger.error({ err: new Error('upstream echoed custom-token-1234 and serp-key-5678') }, 'upstream failed');
    expect(lines.join('')).not.toMatch(/custom-token-1234|serp-key-5678/);
    expect(JSON.parse(lines[0]!).err.message).toBe('upstream echoed [REDACTED] and [REDACTED]');
  });
});
