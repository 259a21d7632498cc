/**
 * The JSON schema of config.yaml after the merge with the defaults. It is
 * also the catalogue of known keys:
 * - a key with a real schema is one fngate acts on, and is type-checked;
 * - a key marked `x-ignored` is one APISIX knows but fngate does not
 *   implement (TLS, stream proxy, nginx tuning, discovery, ...): accepted
 *   whatever its value, and listed in one start-up warning;
 * - any other key is an error (`additionalProperties: false`), usually a typo.
 * Known APISIX keys: `conf/config.yaml.example`, `apisix/cli/config.lua`,
 * `apisix/cli/schema.lua` (spec/config.md §2).
 *
 * `x-expect` gives the human wording of what a value must be, used in error
 * messages instead of the raw keyword (see validate.ts). Union types lean on
 * JSON Schema's type-specific keywords: `pattern` only constrains strings,
 * `minimum` only numbers, `properties` only objects.
 */
import { DURATION_PATTERN, SIZE_PATTERN } from './units.js';

export type Schema = { readonly [keyword: string]: unknown };

/** A key APISIX knows and fngate accepts without acting on it. */
const IGNORED: Schema = { 'x-ignored': true };

function ignored(...names: string[]): Record<string, Schema> {
  return Object.fromEntries(names.map((name) => [name, IGNORED]));
}

/** A mapping with exactly these keys; `required` keys are always present after the merge unless removed with null. */
function mapping(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  return { type: 'object', properties, additionalProperties: false, required };
}

const boolean: Schema = { type: 'boolean' };
const string: Schema = { type: 'string' };
const nonEmptyString: Schema = { type: 'string', minLength: 1 };
const port: Schema = { type: 'integer', minimum: 1, maximum: 65535, 'x-expect': 'a port number (1-65535)' };
const ipAddress: Schema = { type: 'string', format: 'ip-address' };
const ipOrCidr: Schema = { type: 'string', format: 'ip-or-cidr' };
const count = (minimum: number): Schema => ({ type: 'integer', minimum });
const duration: Schema = {
  type: ['string', 'number'],
  pattern: DURATION_PATTERN,
  minimum: 0,
  'x-expect': 'a duration such as 60s, 1m, 500ms or a number of seconds',
};
const size: Schema = {
  type: ['string', 'integer'],
  pattern: SIZE_PATTERN,
  minimum: 0,
  'x-expect': 'a size such as 8k, 1m, 1g or a number of bytes',
};
const listOf = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
const listenAddress: Schema = mapping({ ip: ipAddress, port }, ['ip', 'port']);

const apisix = mapping(
  {
    node_listen: {
      type: ['integer', 'array'],
      minimum: 1,
      maximum: 65535,
      minItems: 1,
      items: {
        type: ['integer', 'object'],
        minimum: 1,
        maximum: 65535,
        properties: { ip: ipAddress, port, ...ignored('enable_http2') },
        additionalProperties: false,
        'x-expect': 'a port number (1-65535) or a mapping {ip, port}',
      },
      'x-expect': 'a port number (1-65535) or a list of ports or {ip, port} mappings',
    },
    enable_admin: boolean,
    enable_dev_mode: boolean,
    enable_ipv6: boolean,
    enable_server_tokens: boolean,
    show_upstream_status_in_response_header: boolean,
    delete_uri_tail_slash: boolean,
    normalize_uri_like_servlet: boolean,
    match_uri_encoded_slash: boolean,
    router: mapping(
      { http: { enum: ['radixtree_host_uri', 'radixtree_uri', 'radixtree_uri_with_parameter'] }, ...ignored('ssl') },
      ['http'],
    ),
    enable_control: boolean,
    control: listenAddress,
    data_encryption: mapping(
      {
        enable_encrypt_fields: boolean,
        // AES-128 or AES-256: the key is used byte for byte (spec/admin-api.md §7).
        keyring: { type: ['array', 'string'], items: { type: 'string', format: 'keyring-key' }, format: 'keyring-key' },
      },
      ['enable_encrypt_fields'],
    ),
    trusted_addresses: listOf(ipOrCidr),
    max_post_args_readable_size: count(0),
    ...ignored(
      'enable_reuseport',
      'enable_http2',
      'proxy_protocol',
      'extra_lua_path',
      'extra_lua_cpath',
      'lua_module_hook',
      'proxy_cache',
      'proxy_mode',
      'stream_proxy',
      'dns_resolver',
      'dns_resolver_valid',
      'resolver_timeout',
      'enable_resolv_search_opt',
      'ssl',
      'status',
      'disable_sync_configuration_during_start',
      'worker_startup_time_threshold',
      'events',
      'lru',
      'disable_upstream_healthcheck',
    ),
  },
  [
    'node_listen',
    'enable_admin',
    'enable_dev_mode',
    'enable_ipv6',
    'enable_server_tokens',
    'show_upstream_status_in_response_header',
    'delete_uri_tail_slash',
    'normalize_uri_like_servlet',
    'match_uri_encoded_slash',
    'router',
    'enable_control',
    'control',
    'max_post_args_readable_size',
  ],
);

const nginxConfig = mapping(
  {
    worker_processes: {
      type: ['integer', 'string'],
      minimum: 1,
      pattern: '^(auto|[1-9][0-9]*)$',
      'x-expect': 'auto or a whole number >= 1',
    },
    worker_shutdown_timeout: duration,
    http: mapping(
      {
        keepalive_timeout: duration,
        client_header_timeout: duration,
        client_body_timeout: duration,
        send_timeout: duration,
        client_max_body_size: size,
        real_ip_header: nonEmptyString,
        real_ip_from: listOf({ type: 'string', format: 'real-ip-source' }),
        upstream: mapping(
          { keepalive: count(0), keepalive_requests: count(1), keepalive_timeout: duration },
          ['keepalive', 'keepalive_requests', 'keepalive_timeout'],
        ),
        ...ignored(
          'enable_access_log',
          'access_log',
          'access_log_buffer',
          'access_log_format',
          'access_log_format_escape',
          'underscores_in_headers',
          'real_ip_recursive',
          'custom_lua_shared_dict',
          'proxy_ssl_server_name',
          'charset',
          'variables_hash_max_size',
          'lua_shared_dict',
        ),
      },
      [
        'keepalive_timeout',
        'client_header_timeout',
        'client_body_timeout',
        'send_timeout',
        'client_max_body_size',
        'real_ip_header',
        'upstream',
      ],
    ),
    ...ignored(
      'user',
      'error_log',
      'error_log_level',
      'enable_cpu_affinity',
      'worker_rlimit_nofile',
      'max_pending_timers',
      'max_running_timers',
      'event',
      'envs',
      'meta',
      'stream',
      'main_configuration_snippet',
      'http_configuration_snippet',
      'http_server_configuration_snippet',
      'http_server_location_configuration_snippet',
      'http_admin_configuration_snippet',
      'http_end_configuration_snippet',
      'stream_configuration_snippet',
    ),
  },
  ['worker_processes', 'worker_shutdown_timeout', 'http'],
);

const adminKey = mapping(
  {
    name: nonEmptyString,
    // YAML reads an all-digit key as a number; it is still meant as text. Beyond 2^53
    // the number has already lost digits, so such a key must be quoted.
    // `key:` with no value is the same as an empty key (generated, see admin-key.ts).
    key: {
      type: ['string', 'integer', 'null'],
      minimum: -Number.MAX_SAFE_INTEGER,
      maximum: Number.MAX_SAFE_INTEGER,
      'x-expect': 'a string (put quotes around a long numeric key)',
    },
    role: { enum: ['admin', 'viewer'] },
  },
  ['name', 'role'],
);

const admin = mapping(
  {
    admin_key_required: boolean,
    admin_key: listOf(adminKey),
    enable_admin_cors: boolean,
    allow_admin: listOf(ipOrCidr),
    admin_listen: listenAddress,
    https_admin: boolean,
    admin_api_version: { enum: ['v3'] },
    ...ignored('enable_admin_ui', 'admin_api_mtls'),
  },
  ['enable_admin_cors', 'admin_listen', 'admin_api_version'],
);

const etcd = mapping(
  {
    host: listOf({ type: 'string', pattern: '^https?://', 'x-expect': 'an http:// or https:// URL' }, { minItems: 1 }),
    prefix: string,
    timeout: count(1),
    watch_timeout: count(1),
    startup_retry: count(0),
    resync_delay: count(0),
    health_check_timeout: count(1),
    user: string,
    password: string,
    tls: mapping({ cert: nonEmptyString, key: nonEmptyString, verify: boolean, sni: nonEmptyString }),
    ...ignored('use_grpc'),
  },
  ['host', 'prefix', 'timeout', 'watch_timeout', 'startup_retry', 'resync_delay', 'health_check_timeout'],
);

const deployment = mapping(
  {
    role: { enum: ['traditional', 'control_plane', 'data_plane'] },
    role_traditional: mapping({ config_provider: { enum: ['embedded', 'yaml', 'etcd'] } }, ['config_provider']),
    role_data_plane: mapping({ config_provider: { enum: ['etcd', 'yaml', 'json'] } }, ['config_provider']),
    role_control_plane: mapping({ config_provider: { enum: ['etcd'] }, ...ignored('conf_server') }),
    admin,
    etcd,
    ...ignored('certs'),
  },
  ['role', 'admin', 'etcd'],
);

/** Plugins whose static attributes APISIX documents but fngate has no use for. */
const IGNORED_PLUGIN_ATTRS = ['log-rotate', 'skywalking', 'opentelemetry', 'server-info', 'dubbo-proxy', 'inspect'];

const pluginAttr: Schema = {
  type: 'object',
  properties: {
    prometheus: {
      type: 'object',
      properties: { enable_export_server: boolean, export_addr: listenAddress, export_uri: nonEmptyString },
    },
    ...ignored(...IGNORED_PLUGIN_ATTRS),
  },
  // Attributes of any other plugin (built-in or custom) are handed to that plugin as they are.
  additionalProperties: { type: 'object', 'x-expect': 'a mapping of the plugin\'s attributes' },
};

const fngate = mapping(
  {
    data_dir: nonEmptyString,
    standalone_file: nonEmptyString,
    custom_plugin_dirs: listOf(nonEmptyString),
    log_level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    worker_watchdog_timeout: duration,
    serverless: mapping(
      {
        sandbox: { enum: ['vm', 'isolated'] },
        allowed_modules: listOf(nonEmptyString, { uniqueItems: true }),
        timeout_ms: count(1),
        // isolated-vm refuses smaller heaps.
        memory_mb: count(8),
      },
      ['sandbox', 'allowed_modules', 'timeout_ms', 'memory_mb'],
    ),
  },
  ['data_dir', 'custom_plugin_dirs', 'log_level', 'worker_watchdog_timeout', 'serverless'],
);

/** The whole document. */
export const CONFIG_SCHEMA: Schema = mapping(
  {
    apisix,
    nginx_config: nginxConfig,
    plugins: listOf(nonEmptyString, { uniqueItems: true }),
    plugin_attr: pluginAttr,
    deployment,
    fngate,
    // `etcd` at the top level is APISIX 2.x's place; 3.x copies deployment.etcd over it.
    ...ignored('etcd', 'stream_plugins', 'graphql', 'discovery', 'wasm', 'xrpc', 'ext-plugin'),
  },
  ['apisix', 'nginx_config', 'deployment', 'fngate'],
);

/**
 * Keys of APISIX 2.x that moved in 3.x. They are unknown to APISIX 3 too, so
 * they stay errors, but the message says where the setting lives now.
 */
export const MOVED_KEYS: Readonly<Record<string, string>> = {
  'apisix.admin_key': 'deployment.admin.admin_key',
  'apisix.allow_admin': 'deployment.admin.allow_admin',
  'apisix.admin_listen': 'deployment.admin.admin_listen',
  'apisix.port_admin': 'deployment.admin.admin_listen.port',
  'apisix.enable_admin_cors': 'deployment.admin.enable_admin_cors',
  'apisix.admin_api_version': 'deployment.admin.admin_api_version',
  'apisix.https_admin': 'deployment.admin.https_admin',
  'apisix.admin_api_mtls': 'deployment.admin.admin_api_mtls',
  'apisix.config_center': 'deployment.role_traditional.config_provider',
};
