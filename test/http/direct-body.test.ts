import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EventStreamBody, type EventTextSource } from '../../src/http/direct-body.ts';

const FRAMING = { opening: ':\n\n', keepAlive: { text: ':\n\n', everyMs: 20 } };

/** A source that gives `events`, then fails with `failure` (or ends); it records being stopped. */
function scriptedSource(events: string[], failure?: Error): EventTextSource & { stopped: boolean } {
  const source = {
    stopped: false,
    next: async () => {
      const next = events.shift();
      if (next !== undefined) return next;
      if (failure) throw failure;
      return undefined;
    },
    stop: () => {
      source.stopped = true;
    },
  };
  return source;
}

/** Serves `body` with writeTo, as the HTTP server does for a direct body; answers the response and the URL. */
async function serving(body: (res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    body(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => server.closeAllConnections()),
  };
}

describe('EventStreamBody', () => {
  it('breaks off a stream whose source fails, read in process: the reader gets the error, keep-alives stop', async () => {
    const source = scriptedSource(['event: a\n\n'], new Error('the source failed'));
    const reader = new EventStreamBody(source, FRAMING).getReader();
    const decoder = new TextDecoder();
    const received: string[] = [];
    const failure = await (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        received.push(decoder.decode(value));
      }
    })().catch((error: Error) => error);
    expect(failure?.message).toBe('the source failed');
    expect(received).toEqual([':\n\n', 'event: a\n\n']);
    expect(source.stopped).toBe(true);
  });

  it('breaks off a stream whose source fails, over a socket: the client sees the connection cut, not an end', async () => {
    const source = scriptedSource(['event: a\n\n'], new Error('the source failed'));
    const server = await serving((res) => new EventStreamBody(source, FRAMING).writeTo(res));
    try {
      const response = await fetch(server.url);
      await expect(response.text()).rejects.toThrow();
      expect(source.stopped).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('stops its source at once, writing nothing, when the client left before it was handed the response', async () => {
    const source = scriptedSource(['event: a\n\n']);
    let written = false;
    const server = await serving((res) => {
      res.destroy();
      const write = res.write.bind(res);
      res.write = ((...args: Parameters<typeof write>) => {
        written = true;
        return write(...args);
      }) as typeof res.write;
      new EventStreamBody(source, FRAMING).writeTo(res);
    });
    try {
      await fetch(server.url).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(source.stopped).toBe(true);
      expect(written).toBe(false);
    } finally {
      await server.close();
    }
  });
});
