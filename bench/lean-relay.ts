/**
 * The streaming baseline: the least a relay of the model server's stream can do, on bare `node:http`.
 * Per stream, one upstream request (keep-alive agent); per upstream SSE frame, split it out of the
 * chunk, `JSON.parse` it and write one SSE event to the client: the token as an unnamed event, as the
 * gateway's REST route sends it, then `event: done`. No database, no framework, no validation.
 * Started by bench/lib/stream-rig.ts in its own process, with the gateway's probe (bench/lib/loop-probe.ts):
 *
 *   PORT=… TGI_URL=… node --import tsx --import ./bench/lib/loop-probe.ts bench/lean-relay.ts
 *
 *   GET /conversations/inference/<id>   streams one reply (the id is ignored)
 *   GET /healthz                        200
 */
import { Agent, createServer, request } from 'node:http';

const upstream = new URL('/v1/chat/completions', process.env.TGI_URL);
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
const body = JSON.stringify({ model: 'tgi', stream: true, messages: [{ role: 'user', content: 'Tell me something.' }] });

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (!req.url?.startsWith('/conversations/inference/')) {
    res.writeHead(404).end();
    return;
  }
  let finished = false;
  const call = request(upstream, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (reply) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.setEncoding('utf8');
    let pending = '';
    reply.on('data', (chunk: string) => {
      pending += chunk;
      let end = pending.indexOf('\n\n');
      while (end !== -1) {
        const frame = pending.slice(0, end);
        pending = pending.slice(end + 2);
        end = pending.indexOf('\n\n');
        if (!frame.startsWith('data:')) continue;
        const data = frame.slice(5).trim();
        if (data === '[DONE]') continue;
        const content = (JSON.parse(data) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content;
        if (content) res.write(`data: ${content}\n\n`);
      }
    });
    reply.once('end', () => {
      finished = true;
      res.end('event: done\ndata: {}\n\n');
    });
    reply.once('error', () => res.destroy());
  });
  call.once('error', () => res.destroy());
  // A client that leaves cancels the upstream request; a finished one's socket goes back to the agent.
  res.once('close', () => {
    if (!finished) call.destroy();
  });
  call.end(body);
});

server.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
