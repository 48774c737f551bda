/** Reads a V8 .cpuprofile: where the sampled time went, by function and by package. */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time of the busiest functions. */
  functions: { name: string; where: string; selfMs: number; share: number }[];
  /** Self time grouped: a package under node_modules, our src/, Node's internals, GC, idle. */
  groups: { group: string; selfMs: number; share: number }[];
}

export async function summarizeProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

  const functions = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = groupOf(functionName, url);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const share = (us: number) => Math.round((1000 * us) / totalUs) / 10;
  return {
    totalMs: totalUs / 1000,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: share(f.us) })),
    groups: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([group, us]) => ({ group, selfMs: us / 1000, share: share(us) })),
  };
}

function shortUrl(url: string): string {
  const local = url.replace(/^file:\/\//, '');
  const modules = local.lastIndexOf('/node_modules/');
  if (modules >= 0) return local.slice(modules + '/node_modules/'.length);
  const src = local.indexOf('/src/');
  return src >= 0 ? local.slice(src + 1) : local;
}

function groupOf(functionName: string, url: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = shortUrl(url);
  if (path.startsWith('src/')) return 'src/ (ours)';
  if (path.startsWith('/')) return path;
  const [scope, name] = path.split('/');
  return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
}
