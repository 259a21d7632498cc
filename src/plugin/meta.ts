/**
 * `_meta`, the per-instance settings every plugin configuration may carry
 * (spec/plugins.md §5). The registry injects this schema into every plugin
 * schema (the served schema is the enforced one) and compiles what a chain
 * needs from it once per configuration.
 */
import { compileExpr } from '../router/expr.js';
import type { CompiledExpr } from '../router/types.js';
import type { JsonSchema } from '../pdk/plugin.js';
import { checkUserFunction, compileUserFunction, type UserFunction } from './user-function.js';

export const INJECTED_SCHEMA_COMMENT = 'this is a mark for our injected plugin schema';

export const META_SCHEMA: JsonSchema = Object.freeze({
  type: 'object',
  additionalProperties: false,
  properties: {
    disable: { type: 'boolean' },
    error_response: { oneOf: [{ type: 'string' }, { type: 'object' }] },
    priority: { type: 'integer', description: 'priority of plugins by customized order' },
    filter: { type: 'array', description: 'filter determines whether the plugin needs to be executed at runtime' },
    pre_function: { type: 'string', description: 'function to be executed in each phase before execution of plugins. The pre_function will have access to two arguments: `conf` and `ctx`.' },
  },
});

/** The plugin's schema as served and enforced: `_meta` injected, marker comment added. */
export function injectMeta(schema: JsonSchema): JsonSchema {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return {
    $comment: INJECTED_SCHEMA_COMMENT,
    ...schema,
    properties: { ...properties, _meta: META_SCHEMA },
  };
}

export interface MetaSettings {
  readonly disable: boolean;
  /** Replaces the body of a returned status ≥ 400 (string as is, object as JSON + newline). */
  readonly errorResponse: string | Record<string, unknown> | undefined;
  readonly priority: number | undefined;
  /** Compiled `filter`; failures at runtime count as true (the plugin runs), as APISIX. */
  readonly filter: CompiledExpr | undefined;
  /** Compiled `pre_function`, run before the plugin's phase function in every phase. */
  readonly preFunction: UserFunction | undefined;
}

const NONE: MetaSettings = Object.freeze({
  disable: false,
  errorResponse: undefined,
  priority: undefined,
  filter: undefined,
  preFunction: undefined,
});

/**
 * Check what the schema cannot: the filter compiles, pre_function compiles
 * to a function. Returns APISIX's message or undefined.
 */
export function checkMeta(meta: unknown): string | undefined {
  if (!isObject(meta)) return undefined;
  if (meta.filter !== undefined) {
    try {
      compileExpr(meta.filter, { onError: true });
    } catch (err) {
      return `failed to validate the 'vars' expression: ${(err as Error).message}`;
    }
  }
  if (typeof meta.pre_function === 'string') {
    const error = checkUserFunction(meta.pre_function);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** Compile `_meta` of a configuration that passed {@link checkMeta}. */
export function compileMeta(conf: Record<string, unknown>): MetaSettings {
  const meta = conf._meta;
  if (!isObject(meta)) return NONE;
  const errorResponse = meta.error_response;
  return {
    disable: meta.disable === true,
    errorResponse: typeof errorResponse === 'string' || isObject(errorResponse) ? errorResponse : undefined,
    priority: typeof meta.priority === 'number' ? meta.priority : undefined,
    filter: meta.filter === undefined ? undefined : compileExpr(meta.filter, { onError: true }),
    preFunction: typeof meta.pre_function === 'string' ? compileUserFunction(meta.pre_function) : undefined,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
