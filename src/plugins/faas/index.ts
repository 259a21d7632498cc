/**
 * The shared FaaS engine (spec/serverless.md §3), used by azure-functions,
 * openfunction and aws-lambda; openwhisk uses only its client layer.
 *
 * - {@link defineFaasPlugin}: a whole generic-upstream plugin from a name,
 *   a priority, an `authorization` schema and an auth step;
 * - {@link FunctionEndpoint}: keep-alive pooled HTTP/1.1 calls to one
 *   function origin with the common connection attributes (`timeout`,
 *   `ssl_verify`, `keepalive`, `keepalive_timeout`, `keepalive_pool`);
 * - request/response helpers for plugins that build their own requests.
 *
 * @example
 *   import { defineFaasPlugin } from './faas/index.js';
 */
export { defineFaasPlugin, type Authorizer, type FaasPluginSpec } from './engine.js';
export { faasSchema, FAAS_DEFAULTS, type FaasConf, type ConnectionOptions } from './schema.js';
export {
  FunctionEndpoint,
  FunctionCallError,
  closeFunctionConnections,
  describeFailure,
  type FunctionRequest,
  type FunctionResponse,
} from './client.js';
export { buildOutgoingRequest, encodeArgs, encodeQueryComponent, encodePathTail, functionPath, type OutgoingRequest } from './request.js';
export { toVerdict, relayedHeaders } from './response.js';
