/**
 * Rules that span several keys or go beyond types: what the schema cannot say.
 */
import type { ConfigIssue } from './errors.js';
import type { ValidDocument } from './normalize.js';
import type { FngateConfig, ListenAddress } from './types.js';

/**
 * Checks on the validated document, before normalisation.
 *
 * @example
 *   checkDocument(doc) // [{ path: 'deployment.admin.admin_key_required', message: 'cannot be false: ...' }]
 */
export function checkDocument(doc: ValidDocument): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { admin } = doc.deployment;
  // APISIX lets `false` switch Admin API authentication off (spec/admin-api.md §2).
  // fngate does not: an unauthenticated Admin API is remote code execution for
  // anyone who can reach it, since serverless functions are part of the config.
  if (admin.admin_key_required === false) {
    issues.push({
      path: 'deployment.admin.admin_key_required',
      message:
        'cannot be false: fngate always requires an Admin API key. Remove the setting; ' +
        'leave admin_key empty to have a key generated, and use allow_admin to restrict clients',
    });
  }
  if (admin.https_admin === true) {
    issues.push({
      path: 'deployment.admin.https_admin',
      message: 'fngate does not serve the Admin API over TLS; terminate TLS in front of it and remove this setting',
    });
  }
  if (doc.deployment.role === 'data_plane' && doc.deployment.role_data_plane === undefined) {
    issues.push({
      path: 'deployment.role_data_plane.config_provider',
      message: 'is required when deployment.role is data_plane (etcd, yaml or json)',
    });
  }
  return issues;
}

interface PortUser {
  readonly owner: string;
  readonly address: ListenAddress;
}

/**
 * Every listener fngate will open must have its own port (APISIX
 * `cli/ops.lua`): proxy, Admin API, control API and Prometheus export.
 *
 * @example
 *   checkPorts(config) // [{ message: 'port 9180 is used by both the proxy (apisix.node_listen) and the Admin API (...)' }]
 */
export function checkPorts(config: FngateConfig): ConfigIssue[] {
  const users = portUsers(config);
  const issues: ConfigIssue[] = [];
  const reported = new Set<string>();
  for (let i = 0; i < users.length; i++) {
    for (let j = i + 1; j < users.length; j++) {
      const a = users[i];
      const b = users[j];
      if (a === undefined || b === undefined || a.address.port !== b.address.port) continue;
      let message: string;
      if (a.owner !== b.owner) {
        message = `port ${a.address.port} is used by both ${a.owner} and ${b.owner}`;
      } else if (a.address.ip === b.address.ip) {
        message = `${a.owner} lists ${a.address.ip}:${a.address.port} twice`;
      } else {
        continue; // one service on several addresses with the same port is fine
      }
      if (reported.has(message)) continue;
      reported.add(message);
      issues.push({ message });
    }
  }
  return issues;
}

function portUsers(config: FngateConfig): PortUser[] {
  const users: PortUser[] = [];
  // A control plane serves no proxy traffic (spec/config.md §4).
  if (config.deployment.role !== 'control_plane') {
    for (const address of config.apisix.node_listen) users.push({ owner: 'the proxy (apisix.node_listen)', address });
  }
  if (config.apisix.enable_admin) {
    users.push({ owner: 'the Admin API (deployment.admin.admin_listen)', address: config.deployment.admin.admin_listen });
  }
  if (config.apisix.enable_control) {
    users.push({ owner: 'the control API (apisix.control)', address: config.apisix.control });
  }
  const prometheus = prometheusExportAddress(config);
  if (prometheus) {
    users.push({ owner: 'the Prometheus export server (plugin_attr.prometheus.export_addr)', address: prometheus });
  }
  return users;
}

/**
 * Where the Prometheus plugin serves metrics on its own port, or undefined
 * when it does not (plugin not installed, or `enable_export_server: false`).
 * With no `plugins` list every built-in is installed, so prometheus counts.
 */
export function prometheusExportAddress(config: FngateConfig): ListenAddress | undefined {
  if (config.plugins !== undefined && !config.plugins.includes('prometheus')) return undefined;
  const attr = config.plugin_attr.prometheus as
    | { enable_export_server?: boolean; export_addr?: { ip: string; port: number } }
    | undefined;
  if (attr === undefined || attr.enable_export_server === false || attr.export_addr === undefined) return undefined;
  return { ip: attr.export_addr.ip, port: attr.export_addr.port };
}
