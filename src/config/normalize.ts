/**
 * The validated document → FngateConfig: listen addresses as objects,
 * durations in seconds, sizes in bytes, absolute paths, the deployment
 * role's rules applied and the config provider derived (spec/config.md
 * §1.4, §2). The runtime never parses a config value again.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { deepFreeze } from './raw.js';
import type { AdminKey, AdminRole, ConfigProvider, EtcdConfig, FngateConfig, HttpRouterKind, ListenAddress } from './types.js';
import { parseDuration, parseSize } from './units.js';
import { stripBrackets } from './validate.js';

/** node_listen's implicit values (spec/config.md §2). */
const DEFAULT_PROXY_IP = '0.0.0.0';
const DEFAULT_PROXY_PORT = 9080;

type Role = FngateConfig['deployment']['role'];

interface RawListen {
  ip?: string;
  port?: number;
}

/** The document's shape once validateDocument() accepted it (required keys are present). */
export interface ValidDocument {
  apisix: {
    node_listen: number | (number | RawListen)[];
    enable_admin: boolean;
    enable_dev_mode: boolean;
    enable_ipv6: boolean;
    enable_server_tokens: boolean;
    show_upstream_status_in_response_header: boolean;
    delete_uri_tail_slash: boolean;
    normalize_uri_like_servlet: boolean;
    match_uri_encoded_slash: boolean;
    router: { http: HttpRouterKind };
    enable_control: boolean;
    control: Required<RawListen>;
    /** Removed (null) = no encryption, as APISIX treats a missing section. */
    data_encryption?: { enable_encrypt_fields: boolean; keyring?: string | string[] };
    trusted_addresses?: string[];
    max_post_args_readable_size: number;
  };
  nginx_config: {
    worker_processes: number | string;
    worker_shutdown_timeout: number | string;
    http: {
      keepalive_timeout: number | string;
      client_header_timeout: number | string;
      client_body_timeout: number | string;
      send_timeout: number | string;
      client_max_body_size: number | string;
      real_ip_header: string;
      real_ip_from?: string[];
      upstream: { keepalive: number; keepalive_requests: number; keepalive_timeout: number | string };
    };
  };
  plugins?: string[];
  plugin_attr?: Record<string, Record<string, unknown>>;
  deployment: {
    role: Role;
    role_traditional?: { config_provider: ConfigProvider };
    role_data_plane?: { config_provider: 'etcd' | 'yaml' | 'json' };
    role_control_plane?: { config_provider?: 'etcd' };
    admin: {
      admin_key_required?: boolean;
      admin_key?: { name: string; key?: string | number | null; role: AdminRole }[];
      enable_admin_cors: boolean;
      allow_admin?: string[];
      admin_listen: Required<RawListen>;
      https_admin?: boolean;
      admin_api_version: 'v3';
    };
    etcd: {
      host: string[];
      prefix: string;
      timeout: number;
      watch_timeout: number;
      startup_retry: number;
      resync_delay: number;
      health_check_timeout: number;
      user?: string;
      password?: string;
      tls?: { cert?: string; key?: string; verify?: boolean; sni?: string };
    };
  };
  fngate: {
    data_dir: string;
    standalone_file?: string;
    custom_plugin_dirs: string[];
    log_level: string;
    worker_watchdog_timeout: string | number;
    serverless: { sandbox: 'vm' | 'isolated'; allowed_modules: string[]; timeout_ms: number; memory_mb: number };
  };
}

/** Values from the environment that win over the file (spec/config.md §1.5, §2). */
export interface NormalizeOverrides {
  /** `APISIX_WORKER_PROCESSES`: wins even over `enable_dev_mode`, as in APISIX's CLI. */
  readonly workerProcesses?: number;
}

/**
 * Build the runtime configuration (deep-frozen) from a validated document.
 *
 * @example
 *   const config = normalizeDocument(doc as unknown as ValidDocument, '/etc/fngate/config.yaml', '/etc/fngate');
 *   config.nginx_config.worker_shutdown_timeout // 240
 */
export function normalizeDocument(
  doc: ValidDocument,
  configPath: string | undefined,
  configDir: string,
  overrides: NormalizeOverrides = {},
): FngateConfig {
  const { apisix, nginx_config: nginx, deployment } = doc;
  const role = deployment.role;
  const dataPlaneProvider = deployment.role_data_plane?.config_provider;
  const http = nginx.http;

  const config: FngateConfig = {
    configPath,
    configDir,
    apisix: {
      node_listen: proxyListeners(apisix.node_listen),
      enable_ipv6: apisix.enable_ipv6,
      // spec/config.md §1.4: the role decides, whatever enable_admin says.
      enable_admin: role === 'control_plane' ? true : role === 'data_plane' ? false : apisix.enable_admin,
      enable_server_tokens: apisix.enable_server_tokens,
      show_upstream_status_in_response_header: apisix.show_upstream_status_in_response_header,
      delete_uri_tail_slash: apisix.delete_uri_tail_slash,
      normalize_uri_like_servlet: apisix.normalize_uri_like_servlet,
      match_uri_encoded_slash: apisix.match_uri_encoded_slash,
      router: { http: apisix.router.http },
      data_encryption: {
        enable_encrypt_fields: apisix.data_encryption?.enable_encrypt_fields ?? false,
        keyring: toList(apisix.data_encryption?.keyring),
      },
      ...(apisix.trusted_addresses === undefined ? {} : { trusted_addresses: apisix.trusted_addresses }),
      enable_control: apisix.enable_control,
      control: listenAddress(apisix.control),
      max_post_args_readable_size: apisix.max_post_args_readable_size,
    },
    nginx_config: {
      worker_processes: overrides.workerProcesses ?? workerProcesses(nginx.worker_processes, apisix.enable_dev_mode),
      worker_shutdown_timeout: seconds(nginx.worker_shutdown_timeout),
      http: {
        keepalive_timeout: seconds(http.keepalive_timeout),
        client_header_timeout: seconds(http.client_header_timeout),
        client_body_timeout: seconds(http.client_body_timeout),
        send_timeout: seconds(http.send_timeout),
        client_max_body_size: bytes(http.client_max_body_size),
        real_ip_header: http.real_ip_header,
        real_ip_from: http.real_ip_from ?? [],
        upstream: {
          keepalive: http.upstream.keepalive,
          keepalive_requests: http.upstream.keepalive_requests,
          keepalive_timeout: seconds(http.upstream.keepalive_timeout),
        },
      },
    },
    deployment: {
      role,
      config_provider: configProvider(doc),
      admin: {
        admin_key: adminKeys(deployment.admin.admin_key),
        admin_listen: listenAddress(deployment.admin.admin_listen),
        // APISIX drops an empty allow-list from nginx.conf, which allows everyone (cli/ops.lua).
        allow_admin: deployment.admin.allow_admin?.length ? deployment.admin.allow_admin : null,
        enable_admin_cors: deployment.admin.enable_admin_cors,
        admin_api_version: deployment.admin.admin_api_version,
      },
      etcd: etcdConfig(deployment.etcd, configDir),
    },
    plugins: doc.plugins,
    plugin_attr: doc.plugin_attr ?? {},
    fngate: {
      data_dir: resolve(configDir, doc.fngate.data_dir),
      standalone_file: resolve(
        configDir,
        doc.fngate.standalone_file ?? (role === 'data_plane' && dataPlaneProvider === 'json' ? 'apisix.json' : 'apisix.yaml'),
      ),
      custom_plugin_dirs: doc.fngate.custom_plugin_dirs.map((dir) => resolve(configDir, dir)),
      log_level: doc.fngate.log_level,
      worker_watchdog_timeout: seconds(doc.fngate.worker_watchdog_timeout),
      serverless: { ...doc.fngate.serverless, allowed_modules: [...doc.fngate.serverless.allowed_modules] },
    },
  };
  return deepFreeze(config);
}

/**
 * `deployment.config_provider` as APISIX derives it (spec/config.md §1.4);
 * a data plane reading `apisix.json` uses the same standalone-file provider as yaml.
 */
function configProvider(doc: ValidDocument): ConfigProvider {
  const { deployment } = doc;
  switch (deployment.role) {
    case 'control_plane':
      return 'etcd';
    case 'data_plane': {
      const provider = deployment.role_data_plane?.config_provider ?? 'etcd';
      return provider === 'json' ? 'yaml' : provider;
    }
    default:
      return deployment.role_traditional?.config_provider ?? 'embedded';
  }
}

function proxyListeners(value: ValidDocument['apisix']['node_listen']): ListenAddress[] {
  const entries = Array.isArray(value) ? value : [value];
  return entries.map((entry) =>
    typeof entry === 'number'
      ? { ip: DEFAULT_PROXY_IP, port: entry }
      : { ip: stripBrackets(entry.ip ?? DEFAULT_PROXY_IP), port: entry.port ?? DEFAULT_PROXY_PORT },
  );
}

function listenAddress(value: Required<RawListen>): ListenAddress {
  return { ip: stripBrackets(value.ip), port: value.port };
}

function adminKeys(entries: NonNullable<ValidDocument['deployment']['admin']['admin_key']> | undefined): AdminKey[] {
  return (entries ?? []).map((entry) => ({ name: entry.name, key: String(entry.key ?? ''), role: entry.role }));
}

function etcdConfig(raw: ValidDocument['deployment']['etcd'], configDir: string): EtcdConfig {
  const tls = raw.tls;
  return {
    host: raw.host,
    prefix: raw.prefix,
    timeout: raw.timeout,
    watch_timeout: raw.watch_timeout,
    startup_retry: raw.startup_retry,
    resync_delay: raw.resync_delay,
    health_check_timeout: raw.health_check_timeout,
    ...(raw.user === undefined ? {} : { user: raw.user }),
    ...(raw.password === undefined ? {} : { password: raw.password }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...(tls.cert === undefined ? {} : { cert: resolve(configDir, tls.cert) }),
            ...(tls.key === undefined ? {} : { key: resolve(configDir, tls.key) }),
            verify: tls.verify ?? true,
            ...(tls.sni === undefined ? {} : { sni: tls.sni }),
          },
        }),
  };
}

/** `auto` = one worker per CPU available to this process; dev mode forces one (spec/config.md §2). */
function workerProcesses(value: number | string, devMode: boolean): number {
  if (devMode) return 1;
  if (value === 'auto') return availableParallelism();
  return Number(value);
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Values reaching here passed the schema's duration pattern. */
function seconds(value: number | string): number {
  return parseDuration(value) ?? 0;
}

function bytes(value: number | string): number {
  return parseSize(value) ?? 0;
}
