/**
 * The plugin definition API: what every built-in plugin, every custom plugin
 * and (through the serverless plugins) every user function is written
 * against. It mirrors an APISIX plugin module (spec/plugins.md §1): name,
 * priority, schema and phase functions `(conf, ctx)`; plugins *return* a
 * verdict and only the runner writes responses.
 *
 * @example
 *   export default definePlugin({
 *     name: 'hello-header',
 *     priority: 12,
 *     schema: { type: 'object', properties: { value: { type: 'string', default: 'hi' } } },
 *     header_filter(conf, ctx) {
 *       ctx.response.setHeader('x-hello', conf.value);
 *     },
 *   });
 */
import type { PluginContext } from './context.js';

/** APISIX's phase names, spelled as users write them in JSON. */
export type PhaseName = 'rewrite' | 'access' | 'before_proxy' | 'header_filter' | 'body_filter' | 'log';

/** Phases that may end the request by returning a verdict. */
export type RequestPhase = 'rewrite' | 'access' | 'before_proxy';

/** Phases that run on the response (their return values are ignored). */
export type ResponsePhase = 'header_filter' | 'body_filter' | 'log';

export const PHASES: readonly PhaseName[] = ['rewrite', 'access', 'before_proxy', 'header_filter', 'body_filter', 'log'];

/**
 * What a request phase returns (spec/plugins.md §9):
 * - nothing (`undefined` / `null`): continue with the next plugin;
 * - a number: end the request with that status (nginx's page for error codes);
 * - `[status, body]`: end with that body (a string as is, anything else as JSON + `\n`);
 * - `[status, body, headers]`: the same with extra response headers.
 */
export type Verdict =
  | undefined
  | null
  | void
  | number
  | readonly [status: number, body?: unknown, headers?: Readonly<Record<string, string | number | readonly string[]>>];

/** A phase function's result: a verdict, or a promise of one (awaited only when returned). */
export type PhaseResult = Verdict | Promise<Verdict>;

export type JsonSchema = Record<string, unknown>;

/** Where a configuration is checked: `check()` receives it so consumer and metadata schemas can differ. */
export type ConfKind = 'route' | 'consumer' | 'metadata';

/** What a plugin receives when it is (re)loaded. */
export interface PluginInitContext {
  /** `plugin_attr.<name>` from config.yaml (static attributes). */
  readonly attr: Readonly<Record<string, unknown>>;
  readonly log: PluginLogger;
}

export interface PluginLogger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

export type PhaseFunction<Conf> = (conf: Conf, ctx: PluginContext) => PhaseResult;
export type ResponsePhaseFunction<Conf> = (conf: Conf, ctx: PluginContext) => void | Promise<void>;

export interface PluginDefinition<Conf = Record<string, unknown>> {
  /** Unique name, the key used in `plugins: {...}` objects; file name of a built-in. */
  readonly name: string;
  readonly version?: string;
  /** Higher runs first within a phase (APISIX's numbers for built-ins). */
  readonly priority: number;
  /** JSON Schema of the configuration; the registry injects `_meta`. */
  readonly schema: JsonSchema;
  /** Schema used on consumers and credentials (auth plugins). */
  readonly consumerSchema?: JsonSchema;
  /** Schema of `/apisix/admin/plugin_metadata/<name>`. */
  readonly metadataSchema?: JsonSchema;
  /** `auth` plugins identify consumers and may sit in credentials. */
  readonly type?: 'auth';
  /** `prefer_route`: a global-rule instance is skipped when the route configures the plugin too. */
  readonly runPolicy?: 'prefer_route';
  /**
   * Dotted paths of secret fields (APISIX `encrypt_fields`), encrypted at rest
   * and never logged, e.g. `['key']`, `['authorization.iam.secretkey']`.
   */
  readonly encryptFields?: readonly string[];
  /** Same for the consumer schema, when it differs. */
  readonly consumerEncryptFields?: readonly string[];
  /** Same for the metadata schema. */
  readonly metadataEncryptFields?: readonly string[];
  /**
   * Semantic checks after the schema passed (defaults are filled). Return an
   * error text, or nothing. Runs at Admin writes and at load.
   */
  check?(conf: Conf, kind: ConfKind): string | undefined;
  /**
   * The phases one configuration takes part in, when that is less than the
   * phase functions the plugin defines (the serverless plugins: only the
   * phases that have user functions). Called once per configuration when
   * its chain is compiled; leaving a plugin out of `body_filter` keeps the
   * proxied body on the fast path.
   */
  phasesFor?(conf: Conf): readonly PhaseName[];
  init?(ctx: PluginInitContext): void | Promise<void>;
  destroy?(): void | Promise<void>;
  // Phase functions are declared as methods: a plugin with a precise `Conf`
  // type then still fits in a list of plugins of any configuration type.
  rewrite?(conf: Conf, ctx: PluginContext): PhaseResult;
  access?(conf: Conf, ctx: PluginContext): PhaseResult;
  before_proxy?(conf: Conf, ctx: PluginContext): PhaseResult;
  /** Status and headers of the response can be read and changed (`ctx.response`). */
  header_filter?(conf: Conf, ctx: PluginContext): void | Promise<void>;
  /** Once per body chunk: `ctx.response.chunk` / `ctx.response.eof`, replaceable. */
  body_filter?(conf: Conf, ctx: PluginContext): void | Promise<void>;
  /** After the response was sent. */
  log?(conf: Conf, ctx: PluginContext): void | Promise<void>;
}

/** A plugin of any configuration type, as registries and plugin lists hold them. */
export type AnyPluginDefinition = PluginDefinition<object>;

/**
 * Declare a plugin. Checks the shape at definition time so a mistake fails
 * at load with the plugin's name, not at the first request.
 */
export function definePlugin<Conf = Record<string, unknown>>(definition: PluginDefinition<Conf>): PluginDefinition<Conf> {
  if (typeof definition.name !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(definition.name)) {
    throw new TypeError(`plugin name must match ^[a-zA-Z0-9_-]+$ (got ${JSON.stringify(definition.name)})`);
  }
  if (!Number.isInteger(definition.priority)) {
    throw new TypeError(`plugin ${definition.name}: priority must be an integer`);
  }
  if (typeof definition.schema !== 'object' || definition.schema === null) {
    throw new TypeError(`plugin ${definition.name}: schema must be a JSON Schema object`);
  }
  if ((definition.schema as { properties?: Record<string, unknown> }).properties?._meta !== undefined) {
    throw new TypeError(`plugin ${definition.name}: schema must not define _meta (the framework injects it)`);
  }
  for (const phase of PHASES) {
    const fn = (definition as unknown as Record<string, unknown>)[phase];
    if (fn !== undefined && typeof fn !== 'function') {
      throw new TypeError(`plugin ${definition.name}: ${phase} must be a function`);
    }
  }
  return definition;
}
