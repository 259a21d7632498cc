/**
 * Query parameters of a collection GET (spec/admin-api.md §4.6): `name`,
 * `label`, `uri` and `filter` restrict the items (combined with AND), then
 * `page` / `page_size` slice them in creation order. `total` counts the
 * items after filtering and before slicing.
 */
import type { ArgValue } from '../http/args.js';
import { parseQuery } from '../http/args.js';
import type { Logger } from '../log.js';
import type { JsonObject } from '../resources/types.js';
import { luaToNumber } from '../util/lua-number.js';
import { compilePcre } from '../router/pcre.js';
import { PlainTextBadRequestError } from './errors.js';
import { isPlainObject } from './json.js';

/** One element of a list response. */
export interface ListItem {
  readonly key: string;
  readonly value: JsonObject;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
}

export type QueryArgs = ReadonlyMap<string, readonly ArgValue[]>;

type ItemTest = (value: JsonObject) => boolean;

export interface ListQuery {
  /** Every test must pass for an item to stay. */
  readonly tests: readonly ItemTest[];
  readonly page?: { readonly number: number; readonly size: number };
}

/** `filter` keys honoured on routes; APISIX ignores the others with a warning. */
const ROUTE_FILTER_FIELDS = new Set(['service_id', 'upstream_id']);

/**
 * Read the list parameters of one request (regexes are compiled here, once).
 *
 * @throws PlainTextBadRequestError `page_size must be between 10 and 500`.
 * @example
 *   const q = parseListQuery(parseQuery('name=^api&page=1&page_size=10'), 'routes', log);
 *   const { list, total } = applyListQuery(items, q);
 */
export function parseListQuery(args: QueryArgs, resource: string, logger: Logger): ListQuery {
  const tests: ItemTest[] = [];

  const name = stringArg(args, 'name');
  if (name !== undefined) {
    // Unanchored PCRE search in APISIX; items without a `name` never match.
    const re = compilePattern(name);
    tests.push((v) => re !== undefined && typeof v.name === 'string' && re.test(v.name));
  }

  // fngate follows APISIX's documentation here: `label=` (empty) means "no
  // restriction" (APISIX's code would instead look for a label key "").
  const label = stringArg(args, 'label');
  if (label !== undefined && label !== '') {
    tests.push((v) => isPlainObject(v.labels) && Object.hasOwn(v.labels, label));
  }

  const uri = stringArg(args, 'uri');
  if (uri !== undefined) {
    const re = compilePattern(uri);
    tests.push((v) => re !== undefined && uriMatches(v, re));
  }

  const filter = stringArg(args, 'filter');
  if (filter !== undefined) {
    for (const [field, values] of parseQuery(filter)) {
      const expected = values[0];
      if (resource !== 'routes' || !ROUTE_FILTER_FIELDS.has(field) || typeof expected !== 'string') {
        logger.warn({ resource, field }, 'unsupported list filter ignored');
        continue;
      }
      // Exact comparison with the stored value: a numeric id never equals the string.
      tests.push((v) => v[field] === expected);
    }
  }

  const page = stringArg(args, 'page');
  const pageSize = stringArg(args, 'page_size');
  if (page === undefined || pageSize === undefined) return { tests };
  const size = luaToNumber(pageSize);
  if (size === undefined || !(size >= 10 && size <= 500)) {
    throw new PlainTextBadRequestError('page_size must be between 10 and 500');
  }
  const number = luaToNumber(page);
  const first = number === undefined || !(number >= 1) || !Number.isFinite(number) ? 1 : Math.floor(number);
  return { tests, page: { number: first, size: Math.floor(size) } };
}

/**
 * Filter, count, then (when paging) sort by creation and slice.
 * `items` must be in key order; it is not modified.
 */
export function applyListQuery(items: readonly ListItem[], query: ListQuery): { list: ListItem[]; total: number } {
  const { tests, page } = query;
  const kept = tests.length === 0 ? items.slice() : items.filter((item) => tests.every((t) => t(item.value)));
  if (page === undefined) return { list: kept, total: kept.length };
  kept.sort((a, b) => a.createdIndex - b.createdIndex);
  const from = (page.number - 1) * page.size;
  return { list: kept.slice(from, from + page.size), total: kept.length };
}

/** First value of a query argument; a bare flag (`?name`) counts as absent. */
function stringArg(args: QueryArgs, name: string): string | undefined {
  const value = args.get(name)?.[0];
  return typeof value === 'string' ? value : undefined;
}

/** PCRE as `ngx.re.find` reads it; an invalid pattern matches nothing, as a failed find does. */
function compilePattern(source: string): RegExp | undefined {
  try {
    return compilePcre(source, false);
  } catch {
    return undefined;
  }
}

function uriMatches(value: JsonObject, re: RegExp): boolean {
  if (typeof value.uri === 'string' && re.test(value.uri)) return true;
  return Array.isArray(value.uris) && value.uris.some((u) => typeof u === 'string' && re.test(u));
}
