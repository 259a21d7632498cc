/**
 * The worker's storage of series, built for the log phase's hot path: a
 * series is found by its label values through nested Maps, so counting a
 * request with labels seen before allocates nothing (no label object, no
 * joined key string). prom-client hashes a label object on every call
 * (~2.7 µs for the six updates of one request, against ~0.3 µs here;
 * bench/prometheus-log.bench.ts).
 */
import type { SeriesData } from './families.js';

/** A counter's value. */
export class CounterCell {
  value = 0;
}

/** A histogram's buckets (not cumulative; the last one is +Inf) and sum. */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  /** Number of observations. */
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Count `value` in the first bucket whose bound is >= it (Prometheus' `le`). */
  observe(value: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let i = 0;
    while (i < n && value > (bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
    this.count++;
  }

  /** The numbers of a reported histogram series: each bucket, +Inf, then the sum. */
  values(): number[] {
    const out = Array.from(this.counts);
    out.push(this.sum);
    return out;
  }
}

type Level = Map<string, unknown>;

/**
 * Cells by label values. `at()` takes the values in label order; pass a
 * reused array — the table copies it only when it creates a series.
 *
 * @example
 *   const table = new SeriesTable(2, () => new CounterCell());
 *   table.at(['200', '/hello']).value += 1;
 */
export class SeriesTable<Cell> {
  readonly #root: Level = new Map();
  readonly #rows: Array<{ readonly labels: readonly string[]; readonly cell: Cell }> = [];

  constructor(
    /** Number of labels; at least 1. */
    readonly depth: number,
    private readonly create: () => Cell,
  ) {
    if (depth < 1) throw new RangeError('a series table needs at least one label');
  }

  /** The cell of these label values, created on first use. */
  at(labels: readonly string[]): Cell {
    let level = this.#root;
    const last = this.depth - 1;
    for (let i = 0; i < last; i++) {
      const value = labels[i] as string;
      let next = level.get(value) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const key = labels[last] as string;
    let cell = level.get(key) as Cell | undefined;
    if (cell === undefined) {
      cell = this.create();
      level.set(key, cell);
      this.#rows.push({ labels: labels.slice(0, this.depth), cell });
    }
    return cell;
  }

  get size(): number {
    return this.#rows.length;
  }

  /** Every series, in creation order. */
  rows(): ReadonlyArray<{ readonly labels: readonly string[]; readonly cell: Cell }> {
    return this.#rows;
  }
}

/** Report rows of a counter table. */
export function counterSeries(table: SeriesTable<CounterCell>): SeriesData[] {
  return table.rows().map(({ labels, cell }) => ({ labels, values: [cell.value] }));
}
