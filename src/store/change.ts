/**
 * A committed change: the unit a backend applies to its in-memory keyspace,
 * and what the embedded store writes to its log. It records the *outcome* of a
 * write (revision already assigned, compare-and-swap already checked), so
 * replaying a log is deterministic and never re-evaluates conditions.
 */

export interface PutChange {
  readonly op: 'put';
  readonly revision: number;
  readonly key: string;
  readonly value: string;
  /**
   * Absolute wall-clock expiry (ms since the epoch) when the put carried a
   * TTL. Absolute so a key whose lease ran out while the process was down is
   * deleted on the next open. The lease id is the put's revision: unique and
   * reproducible on replay without a separate counter.
   */
  readonly expiresAt?: number;
}

export interface DeleteChange {
  readonly op: 'delete';
  readonly revision: number;
  readonly key: string;
}

export type Change = PutChange | DeleteChange;
