/**
 * add-header: a minimal custom plugin for fngate.
 *
 * - Adds a response header to every response of the routes it is on.
 * - Optionally refuses requests that lack a given request header with
 *   403 {"message":"missing request header <name>"}.
 *
 * Configure it like any APISIX plugin, e.g. on a route:
 *
 *   "plugins": {
 *     "add-header": { "header": "x-served-by", "value": "edge-1", "require_request_header": "x-tenant" }
 *   }
 *
 * The file name is the plugin name (add-header.ts → "add-header"); see
 * README.md beside this file for how to install it.
 */

// A type-only import: it is erased when the gateway loads this file, so the
// plugin runs wherever the file is copied; the path only has to resolve for
// your editor and `tsc`. In your own project, point it at an fngate checkout
// or install (see docs/custom-plugins.md) or leave the types out entirely.
import type { PluginDefinition } from '../../src/pdk/plugin.js';

/** The configuration as the phase functions receive it: checked against `schema`, defaults filled. */
interface AddHeaderConf {
  header: string;
  value: string;
  require_request_header?: string;
}

/** An HTTP field name (RFC 9110 §5.1: a token). */
const HEADER_NAME = { type: 'string', minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" };

export default {
  name: 'add-header',
  version: '0.1.0',
  // Higher runs first within a phase. Pick a number no other plugin uses
  // (GET /apisix/admin/plugins?all=true shows the enabled plugins' priorities).
  priority: 20,

  // JSON Schema of the configuration. It is enforced on Admin API writes and
  // served by GET /apisix/admin/schema/plugins/add-header. Do not declare
  // `_meta`: the gateway adds it to every plugin.
  schema: {
    type: 'object',
    properties: {
      header: HEADER_NAME,
      value: { type: 'string' },
      require_request_header: HEADER_NAME,
    },
    required: ['header', 'value'],
  },

  // Request phases may end the request by returning a verdict: a status, or
  // [status, body] (an object body is sent as JSON). Returning nothing lets
  // the request continue to the next plugin and then the upstream.
  rewrite(conf, ctx) {
    const required = conf.require_request_header;
    if (required !== undefined && ctx.request.header(required) === undefined) {
      return [403, { message: `missing request header ${required}` }];
    }
    return undefined;
  },

  // Runs once the response status and headers are known, whether they come
  // from the upstream or from a plugin's verdict (so the 403 above carries
  // the header too). Its return value is ignored.
  header_filter(conf, ctx) {
    ctx.response.setHeader(conf.header, conf.value);
  },
} satisfies PluginDefinition<AddHeaderConf>;
