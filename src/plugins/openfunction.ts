/**
 * openfunction (APISIX `apisix/plugins/openfunction.lua`): calls an
 * OpenFunction sync function — a plain HTTP server behind the OpenFunction
 * gateway — through the shared FaaS engine and relays its answer
 * (spec/serverless.md §5, spec/serverless-platforms.md §2).
 *
 * Auth: with `authorization.service_token` (`user:password`) the function
 * receives `Authorization: Basic base64(service_token)`, replacing the
 * client's `Authorization`; without it the client's header passes through.
 *
 * Schema leniency: APISIX declares `authorization` with a malformed
 * sub-schema, so it accepts any value there and silently sends no token when
 * the value is not an object with a string `service_token`. fngate validates
 * it as an object with an optional string `service_token`: such a
 * configuration is refused at write time instead of calling the function
 * without the intended credentials (docs/plugins/openfunction.md).
 */
import { defineFaasPlugin } from './faas/index.js';

export const OPENFUNCTION_PRIORITY = -1902;

interface OpenFunctionAuthorization {
  readonly service_token?: string;
}

/**
 * @example
 *   // route: { "uri": "/hello/*", "plugins": { "openfunction": {
 *   //   "function_uri": "http://function-sample.default.ofn.io",
 *   //   "authorization": { "service_token": "user:password" } } } }
 */
export default defineFaasPlugin({
  name: 'openfunction',
  version: '0.1',
  priority: OPENFUNCTION_PRIORITY,
  authorizationSchema: {
    type: 'object',
    properties: {
      // user:password, sent as HTTP Basic credentials (RFC 7617).
      service_token: { type: 'string' },
    },
  },
  encryptFields: ['authorization.service_token'],
  authorizer(conf) {
    const token = (conf.authorization as OpenFunctionAuthorization | undefined)?.service_token;
    if (token === undefined) return undefined;
    const credentials = `Basic ${Buffer.from(token, 'utf8').toString('base64')}`;
    return (request) => {
      request.headers.authorization = credentials;
    };
  },
});
