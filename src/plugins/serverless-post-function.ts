/**
 * serverless-post-function (priority -2000): the user's JavaScript functions
 * late in the chosen phase — after every standard plugin, including the
 * FaaS plugins (which usually answered the request already), before the
 * ext-plugin-post-* ones (spec/serverless.md §2, spec/plugins.md §13).
 * docs/plugins/serverless.md is the user's reference.
 *
 * @example
 *   "plugins": { "serverless-post-function": { "functions": [
 *     "return (conf, ctx) => { ctx.var.upstream_uri = '/v2' + ctx.var.uri }"] } }
 */
import { createServerlessPlugin } from './serverless/factory.js';

export const SERVERLESS_POST_FUNCTION_PRIORITY = -2000;

export default createServerlessPlugin('serverless-post-function', SERVERLESS_POST_FUNCTION_PRIORITY);
