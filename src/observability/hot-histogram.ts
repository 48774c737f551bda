import type { Metric, Registry } from 'prom-client';

/**
 * A histogram for code run once per token, where prom-client's own would allocate and hash labels on
 * every observation: one series without labels, buckets preallocated, so an observation is a short
 * scan and three additions. The registry reads it at scrape time through the same `get()` that
 * prom-client's metrics answer.
 */
export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Observations per bucket, not cumulative; those above the last bound are only in `count`. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(upperBounds.length);
    // Not one of prom-client's classes, but it answers what the registry asks of one (get, reset).
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const bounds = this.upperBounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket += 1;
    if (bucket < bounds.length) this.counts[bucket] = this.counts[bucket]! + 1;
    this.sum += value;
    this.count += 1;
  }

  async get() {
    let cumulative = 0;
    const buckets = this.upperBounds.map((le, index) => {
      cumulative += this.counts[index]!;
      return { metricName: `${this.name}_bucket`, labels: { le: String(le) }, value: cumulative };
    });
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [
        ...buckets,
        { metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count },
        { metricName: `${this.name}_sum`, labels: {}, value: this.sum },
        { metricName: `${this.name}_count`, labels: {}, value: this.count },
      ],
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
