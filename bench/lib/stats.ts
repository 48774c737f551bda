/** Order statistics and fits shared by every section. Quantiles use the nearest-rank rule. */

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

/** A figure measured once per run: its median over runs, and the spread the runs showed. */
export interface OverRuns {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function overRuns(runs: number[]): OverRuns {
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs };
}

/** Least-squares slope and intercept of y against x. */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0);
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
