/**
 * fault-injection (priority 11000, rewrite): make a share of requests slow
 * or fail, to test how clients and services cope — as APISIX 3.18's
 * `apisix/plugins/fault-injection.lua`:
 *
 * - `delay`: wait `duration` seconds (a timer: other requests go on), then
 *   carry on with the request;
 * - `abort`: answer `http_status` at once with `body` (`$var` references
 *   resolved) and `headers` (values may use `$var` too); without a body an
 *   error status gets the gateway's error page;
 * - each applies to `percentage` % of requests (all when absent), and only
 *   to requests matching `vars`, a list of lua-resty-expr rules of which
 *   **one** must match (OR; each rule's own expressions are AND-ed);
 * - both are decided before either acts, then the delay comes first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PluginContext } from '../pdk/context.js';
import type { ConfKind, Verdict } from '../pdk/plugin.js';
import type { CompiledExpr } from '../router/types.js';
import { definePlugin } from '../pdk/plugin.js';
import { errorMessage } from '../errors.js';
import { compileExpr } from '../router/expr.js';
import { compileVarTemplate, type VarTemplate } from './lib/var-template.js';
import { headerMapProblem, toHeaderValue } from './lib/header-text.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface FaultInjectionConf {
  readonly abort?: {
    readonly http_status: number;
    readonly body?: string;
    readonly headers?: Readonly<Record<string, string | number>>;
    readonly percentage?: number;
    readonly vars?: readonly unknown[];
  };
  readonly delay?: {
    readonly duration: number;
    readonly percentage?: number;
    readonly vars?: readonly unknown[];
  };
}

const percentageSchema = { type: 'integer', minimum: 0, maximum: 100 };
const varsSchema = { type: 'array', maxItems: 20, items: { type: 'array' } };

const schema = {
  type: 'object',
  properties: {
    abort: {
      type: 'object',
      properties: {
        http_status: { type: 'integer', minimum: 200 },
        body: { type: 'string', minLength: 0 },
        headers: {
          type: 'object',
          minProperties: 1,
          patternProperties: { '^[^:]+$': { oneOf: [{ type: 'string' }, { type: 'number' }] } },
        },
        percentage: percentageSchema,
        vars: varsSchema,
      },
      required: ['http_status'],
    },
    delay: {
      type: 'object',
      properties: {
        duration: { type: 'number', minimum: 0 },
        percentage: percentageSchema,
        vars: varsSchema,
      },
      required: ['duration'],
    },
  },
  minProperties: 1,
};

// ---- compiled configuration ---------------------------------------------------

/** Whether a fault applies to this request, before the dice: `vars` of which one rule must match. */
type Selector = ((ctx: PluginContext) => boolean) | undefined;

interface CompiledHeader {
  readonly name: string;
  readonly value: VarTemplate;
}

interface Compiled {
  readonly delaySelector: Selector;
  readonly delayMs: number;
  readonly abortSelector: Selector;
  readonly abortBody: VarTemplate | undefined;
  readonly abortHeaders: readonly CompiledHeader[];
}

/**
 * `vars` as APISIX evaluates them: OR over the rules, the first match wins.
 * An empty list matches nothing (APISIX's loop never sets a result).
 */
function selectorOf(vars: readonly unknown[] | undefined): Selector {
  if (vars === undefined) return undefined;
  const rules: CompiledExpr[] = vars.map((rule) => compileExpr(rule));
  return (ctx) => {
    const get = (name: string) => ctx.var[name];
    for (const rule of rules) if (rule(get)) return true;
    return false;
  };
}

const compiled = compiledPerConf((conf: FaultInjectionConf): Compiled => {
  return {
    delaySelector: selectorOf(conf.delay?.vars),
    delayMs: (conf.delay?.duration ?? 0) * 1000,
    abortSelector: selectorOf(conf.abort?.vars),
    abortBody: conf.abort?.body === undefined ? undefined : compileVarTemplate(conf.abort.body),
    abortHeaders: Object.entries(conf.abort?.headers ?? {}).map(([name, value]) => ({ name, value: compileVarTemplate(String(value)) })),
  };
});

// ---- request time -----------------------------------------------------------------

/** APISIX's `math.random(1, 100) <= percentage`: absent means every request. */
function sampled(percentage: number | undefined): boolean {
  if (percentage === undefined) return true;
  return Math.floor(Math.random() * 100) + 1 <= percentage;
}

function abortVerdict(status: number, c: Compiled, ctx: PluginContext): Verdict {
  const body = c.abortBody?.render(ctx.var);
  if (c.abortHeaders.length === 0) return body === undefined ? status : [status, body];
  const headers: Record<string, string> = {};
  for (const header of c.abortHeaders) headers[header.name] = header.value.dynamic ? toHeaderValue(header.value.render(ctx.var)) : header.value.source;
  return [status, body, headers];
}

// ---- configuration checks -------------------------------------------------------

function checkConf(conf: FaultInjectionConf, kind: ConfKind): string | undefined {
  if (kind === 'metadata') return undefined;
  for (const vars of [conf.abort?.vars, conf.delay?.vars]) {
    for (const rule of vars ?? []) {
      try {
        compileExpr(rule);
      } catch (err) {
        return errorMessage(err);
      }
    }
  }
  const abort = conf.abort;
  if (abort !== undefined) {
    // APISIX sets no upper bound; a status HTTP cannot carry is refused here rather than failing every request.
    if (abort.http_status > 599) return `abort.http_status must be at most 599, got ${abort.http_status}`;
    return headerMapProblem(abort.headers);
  }
  return undefined;
}

/**
 * @example
 *   // route plugins: { "fault-injection": { "abort": { "http_status": 503, "body": "try later", "percentage": 10 } } }
 */
const faultInjection = definePlugin<FaultInjectionConf>({
  name: 'fault-injection',
  version: '0.1',
  priority: 11000,
  schema,

  check: checkConf,

  rewrite(conf, ctx) {
    const c = compiled(conf);
    // Both faults are chosen before either acts, as in APISIX: a delay never changes whether the abort happens.
    const delay = conf.delay !== undefined && sampled(conf.delay.percentage) && (c.delaySelector?.(ctx) ?? true);
    const abort = conf.abort !== undefined && sampled(conf.abort.percentage) && (c.abortSelector?.(ctx) ?? true);
    const verdict = abort ? abortVerdict((conf.abort as { http_status: number }).http_status, c, ctx) : undefined;
    if (delay && c.delayMs > 0) return sleep(c.delayMs).then(() => verdict);
    return verdict;
  },
});

export default faultInjection;
