/**
 * The primary's side of the workers' counts: sums of series across reports
 * (a counter's value, a histogram's buckets and sum all add up; a `min`
 * family keeps the smallest value instead), checked
 * against the expected schemas, and turned into prom-client's metric JSON
 * so prom-client renders the exposition text.
 */
import type { FamilyData, FamilySchema, SeriesData } from './families.js';
import { valuesPerSeries } from './families.js';

interface SummedSeries {
  readonly labels: readonly string[];
  readonly values: number[];
}

/** Label values as one Map key (NUL cannot appear in a label value that came from HTTP). */
function seriesKey(labels: readonly string[]): string {
  return labels.join('\u0000');
}

/**
 * Sums (or minimums, for `min` families) of series by family and label values.
 *
 * @example
 *   const sums = new MetricSums(schemas);
 *   sums.add(reportA.families); sums.add(reportB.families);
 *   sums.families(); // one series per label set, values added up
 */
export class MetricSums {
  readonly #schemas: ReadonlyMap<string, FamilySchema>;
  readonly #families = new Map<string, Map<string, SummedSeries>>();

  constructor(schemas: readonly FamilySchema[]) {
    this.#schemas = new Map(schemas.map((s) => [s.name, s]));
  }

  /**
   * Add reported families. A family that is unknown, or whose series do not
   * fit its schema (a worker started with other buckets or extra labels),
   * is skipped; its name is returned so the caller can say why.
   */
  add(families: readonly FamilyData[]): string[] {
    const skipped: string[] = [];
    for (const family of families) {
      const schema = this.#schemas.get(family.name);
      if (schema === undefined || !family.series.every((s) => fits(schema, s))) {
        skipped.push(family.name);
        continue;
      }
      let sums = this.#families.get(family.name);
      if (sums === undefined) {
        sums = new Map();
        this.#families.set(family.name, sums);
      }
      for (const series of family.series) {
        const key = seriesKey(series.labels);
        const sum = sums.get(key);
        if (sum === undefined) {
          sums.set(key, { labels: series.labels, values: [...series.values] });
          continue;
        }
        if (schema.aggregation === 'min') {
          for (let i = 0; i < sum.values.length; i++) sum.values[i] = Math.min(sum.values[i] as number, series.values[i] as number);
        } else {
          for (let i = 0; i < sum.values.length; i++) (sum.values[i] as number) += series.values[i] as number;
        }
      }
    }
    return skipped;
  }

  families(): FamilyData[] {
    return [...this.#families].map(([name, sums]) => ({ name, series: [...sums.values()] }));
  }
}

function fits(schema: FamilySchema, series: SeriesData): boolean {
  return series.labels.length === schema.labelNames.length && series.values.length === valuesPerSeries(schema);
}

/** A metric as prom-client's `getMetricsAsJSON()` returns it (what `AggregatorRegistry.aggregate` takes). */
export interface PromMetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum' | 'min';
  readonly values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i < names.length; i++) out[names[i] as string] = values[i] as string;
  return out;
}

/**
 * One family in prom-client's JSON, named with `prefix`. Histogram buckets
 * become cumulative `_bucket{le}` series plus `_sum` and `_count`.
 *
 * @example
 *   toPromJson(schema, sums.families()[0].series, 'apisix_');
 */
export function toPromJson(schema: FamilySchema, series: readonly SeriesData[], prefix: string): PromMetricJson {
  const name = prefix + schema.name;
  const values: PromMetricJson['values'] = [];
  if (schema.type !== 'histogram') {
    for (const s of series) values.push({ value: s.values[0] as number, labels: labelObject(schema.labelNames, s.labels) });
  } else {
    const bounds = schema.buckets ?? [];
    for (const s of series) {
      const labels = labelObject(schema.labelNames, s.labels);
      let cumulative = 0;
      for (let i = 0; i <= bounds.length; i++) {
        cumulative += s.values[i] as number;
        values.push({ value: cumulative, labels: { ...labels, le: i < bounds.length ? (bounds[i] as number) : '+Inf' }, metricName: `${name}_bucket` });
      }
      values.push({ value: s.values[bounds.length + 1] as number, labels, metricName: `${name}_sum` });
      values.push({ value: cumulative, labels, metricName: `${name}_count` });
    }
  }
  return { name, help: schema.help, type: schema.type, aggregator: schema.aggregation ?? 'sum', values };
}
