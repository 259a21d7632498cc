/**
 * The attributes every generic-upstream FaaS plugin shares (azure-functions,
 * openfunction, aws-lambda; spec/serverless.md §3.1). Each plugin adds its
 * own `authorization` sub-schema; the rest is identical, including
 * APISIX's defaults and minimums (and so its validation messages).
 */
import type { JsonSchema } from '../../pdk/plugin.js';

/** How the gateway talks to a function: the connection half of the attributes. */
export interface ConnectionOptions {
  /** ms allowed for the connect, and for each wait on the function afterwards (spec §3.1). */
  readonly timeout: number;
  /** Verify the function's TLS certificate against the system CAs. */
  readonly ssl_verify: boolean;
  /** Reuse connections across calls. */
  readonly keepalive: boolean;
  /** ms an idle pooled connection is kept. */
  readonly keepalive_timeout: number;
  /** Idle connections kept per pool (not a cap on open connections). */
  readonly keepalive_pool: number;
}

/** A FaaS plugin's configuration after the registry filled the defaults. */
export interface FaasConf extends ConnectionOptions {
  readonly function_uri: string;
  readonly authorization?: unknown;
  /** Largest client body (bytes) the gateway buffers and forwards. */
  readonly max_req_body_size: number;
  readonly [attribute: string]: unknown;
}

/** APISIX's defaults, for code that builds configurations itself. */
export const FAAS_DEFAULTS = Object.freeze({
  timeout: 3000,
  ssl_verify: true,
  keepalive: true,
  keepalive_timeout: 60_000,
  keepalive_pool: 5,
  max_req_body_size: 64 * 1024 * 1024,
});

/**
 * The plugin schema: the common attributes plus the plugin's `authorization`.
 * Like APISIX's, it allows unknown attributes (no `additionalProperties`).
 *
 * @example
 *   const schema = faasSchema({ type: 'object', properties: { apikey: { type: 'string' } } });
 */
export function faasSchema(authorization: JsonSchema): JsonSchema {
  return {
    type: 'object',
    properties: {
      function_uri: { type: 'string' },
      authorization,
      timeout: { type: 'integer', minimum: 100, default: FAAS_DEFAULTS.timeout },
      ssl_verify: { type: 'boolean', default: FAAS_DEFAULTS.ssl_verify },
      keepalive: { type: 'boolean', default: FAAS_DEFAULTS.keepalive },
      keepalive_timeout: { type: 'integer', minimum: 1000, default: FAAS_DEFAULTS.keepalive_timeout },
      keepalive_pool: { type: 'integer', minimum: 1, default: FAAS_DEFAULTS.keepalive_pool },
      max_req_body_size: { type: 'integer', minimum: 1, default: FAAS_DEFAULTS.max_req_body_size },
    },
    required: ['function_uri'],
  };
}
