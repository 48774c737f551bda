/** autocannon as the request/response load generator, in its own process (`autocannon -j`). */
import { spawn } from 'node:child_process';

export interface HttpRequestSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface HttpLoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  /** Connection errors, timeouts and non-2xx answers: any of them invalidates the figure. */
  failures: number;
}

const AUTOCANNON = 'node_modules/autocannon/autocannon.js';

export async function autocannon(
  baseUrl: string,
  spec: HttpRequestSpec,
  options: { connections: number; durationSeconds: number },
): Promise<HttpLoadResult> {
  const args = [AUTOCANNON, '-j', '-c', String(options.connections), '-d', String(options.durationSeconds), '-m', spec.method];
  if (spec.body !== undefined) args.push('-b', spec.body);
  for (const [name, value] of Object.entries(spec.headers ?? {})) args.push('-H', `${name}=${value}`);
  args.push(`${baseUrl}${spec.path}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited with ${code}`);
  const report = JSON.parse(output) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  };
  return {
    requestsPerSecond: report.requests.total / report.duration,
    latencyP50Ms: report.latency.p50,
    latencyP99Ms: report.latency.p99,
    requests: report.requests.total,
    failures: report.errors + report.timeouts + report.non2xx,
  };
}
