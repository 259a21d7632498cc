/**
 * Reads of other stored objects that the checks need: existence of
 * referenced ids (spec/admin-api.md §6.1–§6.4) and whole directories for
 * cross-object rules.
 *
 * They are fetched up front, concurrently, and the checks then run
 * synchronously against this view in APISIX's order. That keeps one
 * implementation of every checker for both callers: Admin writes (with
 * store reads) and the gateway loader (no I/O, no reference checks).
 */
import { errorMessage } from '../../errors.js';
import { luaToString } from '../lua-text.js';
import type { CheckContext, JsonObject } from '../types.js';

/** A referenced kind: its directory and the word APISIX uses in the message. */
export interface Reference {
  readonly dir: string;
  readonly what: string;
}

export const UPSTREAM_REF: Reference = { dir: 'upstreams', what: 'upstream' };
export const SERVICE_REF: Reference = { dir: 'services', what: 'service' };
export const PLUGIN_CONFIG_REF: Reference = { dir: 'plugin_configs', what: 'plugin config' };
export const CONSUMER_GROUP_REF: Reference = { dir: 'consumer_groups', what: 'consumer group' };
export const SSL_REF: Reference = { dir: 'ssls', what: 'ssl' };

/** The referenced object, or APISIX's error text; undefined when reference checks are off. */
export type Fetched = { readonly value: JsonObject } | { readonly error: string } | undefined;

export type StoredEntry = { readonly id: string; readonly value: JsonObject };

/** What a checker will read: `[reference, id]` pairs and directories. */
export interface Needs {
  readonly references?: ReadonlyArray<readonly [Reference, unknown]>;
  readonly lists?: readonly string[];
}

/** The prefetched reads, consulted synchronously by the checks. */
export interface ReferenceView {
  get(ref: Reference, id: unknown): Fetched;
  /** Undefined when cross-object checks are off. */
  list(dir: string): readonly StoredEntry[] | undefined;
}

/** The view at load time and in `/configs/validate`: nothing is checked. */
export const NO_REFERENCES: ReferenceView = {
  get: () => undefined,
  list: () => undefined,
};

function isIdLike(id: unknown): id is string | number {
  return typeof id === 'string' || typeof id === 'number';
}

function referenceKey(ref: Reference, id: unknown): string {
  return `${ref.dir}/${luaToString(id)}`;
}

async function fetchOne(ctx: CheckContext, ref: Reference, id: string | number): Promise<NonNullable<Fetched>> {
  const shown = luaToString(id);
  const prefix = `failed to fetch ${ref.what} info by ${ref.what} id [${shown}]`;
  try {
    const value = await ctx.lookup?.(ref.dir, shown);
    return value ? { value } : { error: `${prefix}, response code: 404` };
  } catch (err) {
    return { error: `${prefix}: ${errorMessage(err)}` };
  }
}

/**
 * Read everything `needs` names through the context, concurrently. Ids that
 * are not strings or numbers are skipped: the schema refuses them first.
 *
 * @example
 *   const refs = await prefetchReferences(ctx, { references: [[UPSTREAM_REF, 1]] });
 *   refs.get(UPSTREAM_REF, 1); // { error: 'failed to fetch upstream info by upstream id [1], response code: 404' }
 */
export async function prefetchReferences(ctx: CheckContext, needs: Needs | undefined): Promise<ReferenceView> {
  const fetched = new Map<string, NonNullable<Fetched>>();
  const lists = new Map<string, readonly StoredEntry[]>();
  const pending: Array<Promise<void>> = [];
  if (ctx.lookup) {
    for (const [ref, id] of needs?.references ?? []) {
      if (!isIdLike(id)) continue;
      pending.push(fetchOne(ctx, ref, id).then((result) => void fetched.set(referenceKey(ref, id), result)));
    }
  }
  const list = ctx.list;
  if (list) {
    for (const dir of new Set(needs?.lists ?? [])) {
      pending.push(list(dir).then((entries) => void lists.set(dir, entries)));
    }
  }
  await Promise.all(pending);
  return {
    get: (ref, id) => fetched.get(referenceKey(ref, id)),
    list: (dir) => lists.get(dir),
  };
}

/** The error text when `id` is set and does not resolve. */
export function missingReference(refs: ReferenceView, ref: Reference, id: unknown): string | undefined {
  if (id === undefined) return undefined;
  const got = refs.get(ref, id);
  return got && 'error' in got ? got.error : undefined;
}
