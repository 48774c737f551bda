import { expect } from 'vitest';
import type { TestApp } from './app.ts';

export interface Scrape {
  readonly text: string;
  /** The sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

/** GET /metrics, parsed from Prometheus' text format. */
export async function scrape(app: Pick<TestApp, 'request'>, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await app.request('/metrics', { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  const samples = text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, name, labelText = '', value] = /^([\w:]+)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, text]) => [key, text]));
      return { name, labels, value: Number(value) };
    });
  return {
    text,
    value(name, labels = {}) {
      const matching = samples.filter(
        (sample) => sample.name === name && Object.entries(labels).every(([key, text]) => sample.labels[key] === text),
      );
      return matching.length === 0 ? undefined : matching.reduce((sum, sample) => sum + sample.value, 0);
    },
  };
}
