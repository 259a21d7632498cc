import { FngateError } from '../errors.js';

/** One problem found in config.yaml; `path` is the dotted key path (`a.b[0].c`) when known. */
export interface ConfigIssue {
  readonly path?: string;
  readonly message: string;
}

/**
 * config.yaml could not be loaded: bad YAML, a missing environment variable,
 * a merge type clash, a schema violation or an inconsistent combination.
 * Every issue is one line of the message, prefixed with the file, so the
 * operator sees all problems at once rather than fixing them one start at a time.
 *
 * @example
 *   throw new ConfigError('conf/config.yaml', [{ path: 'apisix.node_listen', message: 'must be a port number' }]);
 *   // message: "conf/config.yaml: apisix.node_listen: must be a port number"
 */
export class ConfigError extends FngateError {
  readonly code = 'CONFIG_INVALID';
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map((issue) => `${file}: ${formatIssue(issue)}`).join('\n'), options);
    this.file = file;
    this.issues = issues;
  }
}

/**
 * The persisted admin key file exists but cannot be used (unreadable, empty
 * or not a key fngate wrote). fngate never silently replaces it: clients
 * holding the old key would lock themselves out without knowing why.
 */
export class AdminKeyFileError extends FngateError {
  readonly code = 'ADMIN_KEY_FILE_INVALID';
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path === undefined ? issue.message : `${issue.path}: ${issue.message}`;
}
