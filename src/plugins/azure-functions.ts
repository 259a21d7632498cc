/**
 * azure-functions (APISIX `apisix/plugins/azure-functions.lua`): calls an
 * Azure Functions HTTP trigger through the shared FaaS engine and relays its
 * answer (spec/serverless.md §4, spec/serverless-platforms.md §3).
 *
 * Auth headers, decided on the forwarded header set (spec §4):
 * 1. the client sent `x-functions-key` or `x-functions-clientid` → nothing added;
 * 2. else the route's `authorization` → `x-functions-key: apikey`,
 *    `x-functions-clientid: clientid` (each only when configured);
 * 3. else the plugin metadata → `master_apikey` / `master_clientid`
 *    (defaults `""`, so empty values may be sent; Azure reads an empty key as none).
 * The key never travels as `?code=`.
 */
import type { PluginContext } from '../pdk/context.js';
import { defineFaasPlugin, type OutgoingRequest } from './faas/index.js';

export const AZURE_FUNCTIONS_PRIORITY = -1900;

const PLUGIN_NAME = 'azure-functions';
const KEY_HEADER = 'x-functions-key';
const CLIENT_ID_HEADER = 'x-functions-clientid';

interface AzureAuthorization {
  readonly apikey?: string;
  readonly clientid?: string;
}

/** True when the client chose its own credentials (either header present, even empty). */
function clientSentCredentials(request: OutgoingRequest): boolean {
  return request.headers[KEY_HEADER] !== undefined || request.headers[CLIENT_ID_HEADER] !== undefined;
}

/** Rule 3: the app-wide master key from plugin metadata. */
function applyMetadata(request: OutgoingRequest, ctx: PluginContext): void {
  const metadata = ctx.pluginMetadata(PLUGIN_NAME);
  if (metadata === undefined) return;
  request.headers[KEY_HEADER] = String(metadata.master_apikey ?? '');
  request.headers[CLIENT_ID_HEADER] = String(metadata.master_clientid ?? '');
}

/**
 * @example
 *   // metadata: PUT /apisix/admin/plugin_metadata/azure-functions { "master_apikey": "<host key>" }
 *   // route:    { "uri": "/azure/*", "plugins": { "azure-functions": {
 *   //   "function_uri": "https://app.azurewebsites.net/api",
 *   //   "authorization": { "apikey": "<function key>" } } } }
 */
export default defineFaasPlugin({
  name: PLUGIN_NAME,
  version: '0.1',
  priority: AZURE_FUNCTIONS_PRIORITY,
  authorizationSchema: {
    type: 'object',
    properties: {
      apikey: { type: 'string' },
      clientid: { type: 'string' },
    },
  },
  encryptFields: ['authorization.apikey'],
  metadataSchema: {
    type: 'object',
    properties: {
      master_apikey: { type: 'string', default: '' },
      master_clientid: { type: 'string', default: '' },
    },
  },
  metadataEncryptFields: ['master_apikey'],
  authorizer(conf) {
    const authorization = conf.authorization as AzureAuthorization | undefined;
    if (authorization === undefined) {
      return (request, ctx) => {
        if (!clientSentCredentials(request)) applyMetadata(request, ctx);
      };
    }
    const { apikey, clientid } = authorization;
    return (request) => {
      if (clientSentCredentials(request)) return;
      if (apikey !== undefined) request.headers[KEY_HEADER] = apikey;
      if (clientid !== undefined) request.headers[CLIENT_ID_HEADER] = clientid;
    };
  },
});
