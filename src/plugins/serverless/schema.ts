/**
 * Configuration of serverless-pre-function / serverless-post-function
 * (spec/serverless.md §2.1), plus fngate's multi-phase form.
 *
 * APISIX's form is one phase per instance: `phase` (default `access`) and
 * `functions`. fngate also accepts `phases: { <phase>: [functions] }`
 * (the request of apache/apisix#9783 and #9994): a header_filter and a
 * body_filter function in one instance, sharing state through `ctx`.
 *
 * The two forms combine: `phase` + `functions` is one entry, `phases` adds
 * others. When both name the same phase, `functions` run first, then
 * `phases[phase]`, as one list (a verdict stops the rest of it). At least
 * one of `functions` and `phases` is required; every list has at least one
 * function. The APISIX message for neither is kept:
 * `property "functions" is required`.
 */
import type { PhaseName } from '../../pdk/plugin.js';
import { PHASES } from '../../pdk/plugin.js';

export interface ServerlessConf {
  /** Filled with `access` at load, so always set at runtime. */
  readonly phase: PhaseName;
  readonly functions?: readonly string[];
  readonly phases?: Readonly<Partial<Record<PhaseName, readonly string[]>>>;
  readonly [key: string]: unknown;
}

const FUNCTION_LIST = Object.freeze({ type: 'array', minItems: 1, items: { type: 'string' } });

export const SERVERLESS_SCHEMA = Object.freeze({
  type: 'object',
  properties: {
    phase: { type: 'string', default: 'access', enum: [...PHASES] },
    functions: FUNCTION_LIST,
    phases: {
      description: 'fngate: functions per phase, beside or instead of phase + functions',
      type: 'object',
      minProperties: 1,
      properties: Object.fromEntries(PHASES.map((phase) => [phase, FUNCTION_LIST])),
      additionalProperties: false,
    },
  },
});

/** One configured function and where it sits, as messages and logs name it. */
export interface FunctionSource {
  readonly phase: PhaseName;
  /** `functions[0]` or `phases.body_filter[1]`. */
  readonly where: string;
  readonly source: string;
}

/**
 * Every function of a configuration, per phase in run order.
 *
 * @example
 *   functionSources({ phase: 'access', functions: ['a'], phases: { log: ['b'] } });
 *   // [{ phase: 'access', where: 'functions[0]', source: 'a' }, { phase: 'log', where: 'phases.log[0]', source: 'b' }]
 */
export function functionSources(conf: ServerlessConf): FunctionSource[] {
  const out: FunctionSource[] = [];
  const classic = conf.phase ?? 'access';
  for (const phase of PHASES) {
    if (classic === phase) {
      conf.functions?.forEach((source, i) => out.push({ phase, where: `functions[${i}]`, source }));
    }
    conf.phases?.[phase]?.forEach((source, i) => out.push({ phase, where: `phases.${phase}[${i}]`, source }));
  }
  return out;
}
