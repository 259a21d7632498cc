/**
 * serverless-pre-function (priority 10000): the user's JavaScript functions
 * early in the chosen phase — after real-ip, request-id, fault-injection and
 * mocking, before cors, ip-restriction, authentication and rate limiting
 * (spec/serverless.md §2, spec/plugins.md §13). docs/plugins/serverless.md
 * is the user's reference.
 *
 * @example
 *   "plugins": { "serverless-pre-function": { "phase": "rewrite",
 *     "functions": ["return function (conf, ctx) { log.warn('route', ctx.route_id) }"] } }
 */
import { createServerlessPlugin } from './serverless/factory.js';

export const SERVERLESS_PRE_FUNCTION_PRIORITY = 10000;

export default createServerlessPlugin('serverless-pre-function', SERVERLESS_PRE_FUNCTION_PRIORITY);
