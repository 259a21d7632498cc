/**
 * Loading config.yaml the way APISIX's CLI does (spec/config.md §1):
 * parse → substitute `${{VAR}}` → merge over the defaults → environment
 * overrides → validate → normalise → cross-key checks. Every step reports
 * all of its problems at once; the first step with problems stops the load.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { createLogger, type Logger } from '../log.js';
import { checkDocument, checkPorts } from './checks.js';
import { defaultDocument } from './defaults.js';
import { substituteEnv } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { mergeDocument } from './merge.js';
import { normalizeDocument, type NormalizeOverrides, type ValidDocument } from './normalize.js';
import { isRawObject, type RawObject } from './raw.js';
import type { FngateConfig } from './types.js';
import { validateDocument } from './validate.js';

export interface LoadOptions {
  /** Environment for `${{VAR}}`, `APISIX_DEPLOYMENT_ETCD_HOST`, `APISIX_WORKER_PROCESSES`. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  readonly config: FngateConfig;
  /** Things the operator should know that do not stop the start (ignored keys, YAML notes). */
  readonly warnings: readonly string[];
}

/** Shown in messages when no file was given. */
const DEFAULTS_LABEL = 'built-in defaults';

/**
 * Load and validate config.yaml; warnings are logged (to `logger`, else to a
 * logger at the configured `fngate.log_level`). Without a file the built-in
 * defaults are used.
 *
 * @throws ConfigError (code `CONFIG_INVALID`) naming the file and every bad key path.
 * @example
 *   const config = await loadConfig('conf/config.yaml', { logger });
 *   config.deployment.admin.admin_listen // { ip: '127.0.0.1', port: 9180 }
 */
export async function loadConfig(
  file: string | undefined,
  options: LoadOptions & { readonly logger?: Logger } = {},
): Promise<FngateConfig> {
  const { config, warnings } = await readConfig(file, options);
  if (warnings.length > 0) {
    const logger = options.logger ?? createLogger({ level: config.fngate.log_level }).child({ module: 'config' });
    for (const warning of warnings) logger.warn(warning);
  }
  return config;
}

/**
 * Like loadConfig, but returns the warnings instead of logging them.
 *
 * @example
 *   const { config, warnings } = await readConfig('conf/config.yaml');
 */
export async function readConfig(file: string | undefined, options: LoadOptions = {}): Promise<LoadedConfig> {
  if (file === undefined) return parseConfig(undefined, options);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseConfig(text, { ...options, file });
}

/** Synchronous readConfig, for tools that cannot await (e.g. a `check` command at import time). */
export function readConfigSync(file: string | undefined, options: LoadOptions = {}): LoadedConfig {
  if (file === undefined) return parseConfig(undefined, options);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseConfig(text, { ...options, file });
}

/**
 * The whole pipeline on a file's text (undefined = no file, defaults only).
 * `file` is used for messages and to resolve relative paths; nothing is read.
 *
 * @example
 *   parseConfig('apisix:\n  node_listen: 8080\n', { file: 'conf/config.yaml', env: {} })
 *     .config.apisix.node_listen // [{ ip: '0.0.0.0', port: 8080 }]
 */
export function parseConfig(text: string | undefined, options: LoadOptions & { readonly file?: string } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const label = options.file ?? DEFAULTS_LABEL;
  const configPath = options.file === undefined ? undefined : resolve(options.file);
  const configDir = configPath === undefined ? process.cwd() : dirname(configPath);
  const warnings: string[] = [];
  const fail = (issues: readonly ConfigIssue[]): void => {
    if (issues.length > 0) throw new ConfigError(label, issues);
  };

  const document = defaultDocument();
  if (text !== undefined) {
    const parsed = parseYaml(text, label, warnings);
    const substituted = substituteEnv(parsed, env);
    fail(substituted.issues);
    fail(mergeDocument(document, substituted.document));
  }

  const { overrides, issues: envIssues } = applyEnvOverrides(document, env);
  fail(envIssues);

  const { issues, ignored } = validateDocument(document);
  fail(issues);
  if (ignored.length > 0) {
    warnings.push(`${label}: ignored by fngate (APISIX settings fngate does not implement): ${ignored.join(', ')}`);
  }

  const valid = document as unknown as ValidDocument;
  fail(checkDocument(valid));
  const config = normalizeDocument(valid, configPath, configDir, overrides);
  fail(checkPorts(config));
  return { config, warnings };
}

function parseYaml(text: string, label: string, warnings: string[]): RawObject {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // yaml's messages carry "at line L, column C" followed by a code frame; the first line is enough here.
    throw new ConfigError(
      label,
      doc.errors.map((error) => ({ message: `invalid YAML: ${firstLine(error.message)}` })),
    );
  }
  for (const warning of doc.warnings) warnings.push(`${label}: ${firstLine(warning.message)}`);
  // An empty or comment-only file is allowed and means "all defaults" (spec/config.md §1.2).
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (!isRawObject(value)) {
    throw new ConfigError(label, [{ message: 'the top level must be a mapping of settings (apisix:, deployment:, ...)' }]);
  }
  return value;
}

/**
 * Environment variables APISIX reads on top of the file:
 * `APISIX_DEPLOYMENT_ETCD_HOST` (a JSON array of etcd URLs) replaces
 * deployment.etcd.host; `APISIX_WORKER_PROCESSES` sets the worker count.
 */
function applyEnvOverrides(
  document: RawObject,
  env: NodeJS.ProcessEnv,
): { overrides: NormalizeOverrides; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  let workerProcesses: number | undefined;
  const etcdHost = env.APISIX_DEPLOYMENT_ETCD_HOST;
  if (etcdHost !== undefined && etcdHost !== '') {
    const hosts = parseEtcdHosts(etcdHost);
    if (hosts === undefined) {
      issues.push({
        message:
          'environment variable APISIX_DEPLOYMENT_ETCD_HOST must be a JSON array of http:// or https:// URLs, ' +
          `such as ["http://127.0.0.1:2379"] (got ${JSON.stringify(etcdHost)})`,
      });
    } else {
      const deployment = child(document, 'deployment');
      child(deployment, 'etcd').host = hosts;
    }
  }
  const workers = env.APISIX_WORKER_PROCESSES;
  if (workers !== undefined && workers !== '') {
    const count = Math.floor(Number(workers));
    if (Number.isFinite(count) && count >= 1) {
      workerProcesses = count;
    } else {
      issues.push({
        message: `environment variable APISIX_WORKER_PROCESSES must be a whole number >= 1 (got ${JSON.stringify(workers)})`,
      });
    }
  }
  return { overrides: workerProcesses === undefined ? {} : { workerProcesses }, issues };
}

function parseEtcdHosts(text: string): string[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const hosts = value.filter((host): host is string => typeof host === 'string' && /^https?:\/\//.test(host));
  return hosts.length === value.length ? hosts : undefined;
}

/** The mapping under `key`, created when absent (an override must land even if the file removed the section). */
function child(object: RawObject, key: string): RawObject {
  const existing = object[key];
  if (isRawObject(existing)) return existing;
  const created: RawObject = {};
  object[key] = created;
  return created;
}

function unreadable(file: string, err: unknown): ConfigError {
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read the file (${String(err)})`;
  return new ConfigError(file, [{ message: reason }], { cause: err });
}

/** yaml's messages end their first line with ":" before the code frame. */
function firstLine(text: string): string {
  return (text.split('\n', 1)[0] ?? text).replace(/:$/, '');
}
