/**
 * The built-in defaults that config.yaml is merged over (spec/config.md §1–§2,
 * APISIX `apisix/cli/config.lua`). Only keys fngate acts on are present: a key
 * APISIX knows but fngate ignores has no default here, so it can never show
 * up in the ignored-keys warning unless the user wrote it.
 *
 * Deliberate differences from APISIX (docs/configuration.md):
 * - `deployment.role_traditional.config_provider: embedded` — fngate's own
 *   durable store is the default backend; `etcd` and `yaml` stay available.
 * - `deployment.admin.admin_listen.ip: 127.0.0.1` — the Admin API listens on
 *   loopback unless configured otherwise (secure by default).
 * - `fngate:` — settings APISIX does not have, kept apart from APISIX's keys.
 * Values are in the user-facing form (`"60s"`, `auto`); normalize.ts converts.
 */
import { deepFreeze, type RawObject } from './raw.js';

const DEFAULTS: RawObject = {
  apisix: {
    node_listen: [9080],
    enable_admin: true,
    enable_dev_mode: false,
    enable_ipv6: true,
    enable_server_tokens: true,
    show_upstream_status_in_response_header: false,
    delete_uri_tail_slash: false,
    normalize_uri_like_servlet: false,
    match_uri_encoded_slash: false,
    router: { http: 'radixtree_host_uri' },
    enable_control: true,
    control: { ip: '127.0.0.1', port: 9090 },
    data_encryption: {
      enable_encrypt_fields: true,
      keyring: ['qeddd145sfvddff3', 'edd1c9f0985e76a2'],
    },
    max_post_args_readable_size: 64,
  },
  nginx_config: {
    worker_processes: 'auto',
    worker_shutdown_timeout: '240s',
    http: {
      keepalive_timeout: '60s',
      client_header_timeout: '60s',
      client_body_timeout: '60s',
      send_timeout: '10s',
      client_max_body_size: 0,
      real_ip_header: 'X-Real-IP',
      real_ip_from: ['127.0.0.1', 'unix:'],
      upstream: {
        keepalive: 320,
        keepalive_requests: 1000,
        keepalive_timeout: '60s',
      },
    },
  },
  plugin_attr: {
    prometheus: {
      export_uri: '/apisix/prometheus/metrics',
      metric_prefix: 'apisix_',
      enable_export_server: true,
      export_addr: { ip: '127.0.0.1', port: 9091 },
      refresh_interval: 15,
    },
    'proxy-mirror': {
      timeout: { connect: '60s', read: '60s', send: '60s' },
    },
  },
  deployment: {
    role: 'traditional',
    role_traditional: { config_provider: 'embedded' },
    admin: {
      admin_key_required: true,
      // An empty key means "generate one on first start" (admin-key.ts); no key ships in the repo.
      admin_key: [{ name: 'admin', key: '', role: 'admin' }],
      enable_admin_cors: true,
      allow_admin: ['127.0.0.0/24'],
      admin_listen: { ip: '127.0.0.1', port: 9180 },
      admin_api_version: 'v3',
    },
    etcd: {
      host: ['http://127.0.0.1:2379'],
      prefix: '/apisix',
      timeout: 30,
      watch_timeout: 50,
      startup_retry: 2,
      resync_delay: 5,
      health_check_timeout: 10,
      tls: { verify: true },
    },
  },
  fngate: {
    data_dir: 'data',
    custom_plugin_dirs: [],
    log_level: 'info',
    // A worker whose event loop has not ticked for this long is replaced.
    worker_watchdog_timeout: '10s',
    serverless: {
      sandbox: 'vm',
      allowed_modules: [],
      timeout_ms: 100,
      memory_mb: 32,
    },
  },
};

deepFreeze(DEFAULTS);

/**
 * A fresh, mutable copy of the defaults document, ready to merge a user file into.
 *
 * @example
 *   const doc = defaultDocument();
 *   mergeDocument(doc, userDoc);
 */
export function defaultDocument(): RawObject {
  return structuredClone(DEFAULTS);
}

/** The defaults themselves (frozen), for reading a default value. */
export const BUILTIN_DEFAULTS: Readonly<RawObject> = DEFAULTS;
