/**
 * Every built-in plugin, one file each, named after the plugin. The
 * registry installs those listed in config.yaml's `plugins:` (all of them
 * by default).
 */
import type { AnyPluginDefinition } from '../pdk/plugin.js';
import jwtAuth from './jwt-auth.js';
import keyAuth from './key-auth.js';
import ipRestriction from './ip-restriction.js';
import limitCount from './limit-count.js';
import proxyRewrite from './proxy-rewrite.js';
import responseRewrite from './response-rewrite.js';
import azureFunctions from './azure-functions.js';
import openfunction from './openfunction.js';
import openwhisk from './openwhisk.js';
import awsLambda from './aws-lambda.js';
import serverlessPreFunction from './serverless-pre-function.js';
import serverlessPostFunction from './serverless-post-function.js';
import basicAuth from './basic-auth.js';
import cors from './cors.js';
import requestId from './request-id.js';
import realIp from './real-ip.js';
import uriBlocker from './uri-blocker.js';
import limitReq from './limit-req.js';
import faultInjection from './fault-injection.js';
import mocking from './mocking.js';
import prometheus from './prometheus.js';

export const builtinPlugins: ReadonlyArray<AnyPluginDefinition> = [
  jwtAuth,
  keyAuth,
  ipRestriction,
  limitCount,
  proxyRewrite,
  responseRewrite,
  azureFunctions,
  openfunction,
  openwhisk,
  awsLambda,
  serverlessPreFunction,
  serverlessPostFunction,
  basicAuth,
  cors,
  requestId,
  realIp,
  uriBlocker,
  limitReq,
  faultInjection,
  mocking,
  prometheus,
];
