import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError } from './errors.js';
import { loadConfig, parseConfig, readConfig } from './load.js';
import type { FngateConfig } from './types.js';

const FILE = '/etc/fngate/config.yaml';

/** Load YAML text as if it were /etc/fngate/config.yaml, with an empty environment unless given. */
function load(yaml: string, env: NodeJS.ProcessEnv = {}): { config: FngateConfig; warnings: readonly string[] } {
  return parseConfig(yaml, { file: FILE, env });
}

/** The ConfigError that loading `yaml` raises. */
function failure(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    load(yaml, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail('expected loading to fail');
}

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('defaults', () => {
  test('without a file: APISIX defaults with fngate differences', () => {
    const { config, warnings } = parseConfig(undefined, { env: {} });
    assert.deepEqual(warnings, []);
    assert.equal(config.configPath, undefined);
    assert.equal(config.configDir, process.cwd());
    assert.deepEqual(config.apisix.node_listen, [{ ip: '0.0.0.0', port: 9080 }]);
    assert.equal(config.apisix.enable_admin, true);
    assert.equal(config.apisix.enable_ipv6, true);
    assert.equal(config.apisix.enable_server_tokens, true);
    assert.equal(config.apisix.show_upstream_status_in_response_header, false);
    assert.equal(config.apisix.router.http, 'radixtree_host_uri');
    assert.deepEqual(config.apisix.data_encryption, {
      enable_encrypt_fields: true,
      keyring: ['qeddd145sfvddff3', 'edd1c9f0985e76a2'],
    });
    assert.equal(config.apisix.enable_control, true);
    assert.deepEqual(config.apisix.control, { ip: '127.0.0.1', port: 9090 });
    assert.equal(config.apisix.max_post_args_readable_size, 64);
    assert.equal(config.apisix.trusted_addresses, undefined);

    assert.equal(config.nginx_config.worker_processes, availableParallelism());
    assert.equal(config.nginx_config.worker_shutdown_timeout, 240);
    assert.deepEqual(config.nginx_config.http, {
      keepalive_timeout: 60,
      client_header_timeout: 60,
      client_body_timeout: 60,
      send_timeout: 10,
      client_max_body_size: 0,
      real_ip_header: 'X-Real-IP',
      real_ip_from: ['127.0.0.1', 'unix:'],
      upstream: { keepalive: 320, keepalive_requests: 1000, keepalive_timeout: 60 },
    });

    assert.equal(config.deployment.role, 'traditional');
    assert.equal(config.deployment.config_provider, 'embedded');
    assert.deepEqual(config.deployment.admin, {
      admin_key: [{ name: 'admin', key: '', role: 'admin' }],
      admin_listen: { ip: '127.0.0.1', port: 9180 },
      allow_admin: ['127.0.0.0/24'],
      enable_admin_cors: true,
      admin_api_version: 'v3',
    });
    assert.deepEqual(config.deployment.etcd, {
      host: ['http://127.0.0.1:2379'],
      prefix: '/apisix',
      timeout: 30,
      watch_timeout: 50,
      startup_retry: 2,
      resync_delay: 5,
      health_check_timeout: 10,
      tls: { verify: true },
    });

    assert.equal(config.plugins, undefined);
    assert.deepEqual(Object.keys(config.plugin_attr).sort(), ['prometheus', 'proxy-mirror']);
    assert.deepEqual(config.fngate, {
      data_dir: join(process.cwd(), 'data'),
      standalone_file: join(process.cwd(), 'apisix.yaml'),
      custom_plugin_dirs: [],
      log_level: 'info',
      worker_watchdog_timeout: 10,
      serverless: { sandbox: 'vm', allowed_modules: [], timeout_ms: 100, memory_mb: 32 },
    });
  });

  test('the loaded configuration is deeply frozen', () => {
    const { config } = load('apisix:\n  node_listen: 8080\n');
    assert.ok(isDeepFrozen(config));
  });

  test('an empty or comment-only file means all defaults', () => {
    const empty = load('');
    const comments = load('# nothing configured yet\n\n   # still nothing\n');
    const defaults = parseConfig(undefined, { env: {} }).config;
    for (const { config } of [empty, comments]) {
      assert.equal(config.configPath, FILE);
      assert.equal(config.configDir, '/etc/fngate');
      assert.deepEqual(config.apisix, defaults.apisix);
      assert.deepEqual(config.deployment, defaults.deployment);
      assert.equal(config.fngate.data_dir, '/etc/fngate/data');
    }
  });
});

describe('normalisation', () => {
  test('node_listen: a port, a list of ports, or {ip, port} entries', () => {
    assert.deepEqual(load('apisix:\n  node_listen: 8080\n').config.apisix.node_listen, [{ ip: '0.0.0.0', port: 8080 }]);
    assert.deepEqual(load('apisix:\n  node_listen: [8080, 8081]\n').config.apisix.node_listen, [
      { ip: '0.0.0.0', port: 8080 },
      { ip: '0.0.0.0', port: 8081 },
    ]);
    const { config } = load(`
apisix:
  node_listen:
    - 8080
    - port: 8081
    - ip: 127.0.0.2
      port: 8082
    - ip: "[::1]"
      port: 8083
    - ip: 10.0.0.1
`);
    assert.deepEqual(config.apisix.node_listen, [
      { ip: '0.0.0.0', port: 8080 },
      { ip: '0.0.0.0', port: 8081 },
      { ip: '127.0.0.2', port: 8082 },
      { ip: '::1', port: 8083 },
      { ip: '10.0.0.1', port: 9080 },
    ]);
  });

  test('admin_listen and control: partial settings keep the other default', () => {
    const { config } = load('deployment:\n  admin:\n    admin_listen:\n      port: 9181\napisix:\n  control:\n    ip: 0.0.0.0\n');
    assert.deepEqual(config.deployment.admin.admin_listen, { ip: '127.0.0.1', port: 9181 });
    assert.deepEqual(config.apisix.control, { ip: '0.0.0.0', port: 9090 });
  });

  test('durations become seconds and sizes bytes', () => {
    const { config } = load(`
nginx_config:
  worker_shutdown_timeout: 10s
  http:
    keepalive_timeout: 2m
    client_header_timeout: 30
    send_timeout: 1500ms
    client_max_body_size: 1m
    upstream:
      keepalive_timeout: 1h
`);
    assert.equal(config.nginx_config.worker_shutdown_timeout, 10);
    assert.equal(config.nginx_config.http.keepalive_timeout, 120);
    assert.equal(config.nginx_config.http.client_header_timeout, 30);
    assert.equal(config.nginx_config.http.send_timeout, 1.5);
    assert.equal(config.nginx_config.http.client_max_body_size, 1_048_576);
    assert.equal(config.nginx_config.http.upstream.keepalive_timeout, 3600);
    assert.equal(load('nginx_config:\n  http:\n    client_max_body_size: 0\n').config.nginx_config.http.client_max_body_size, 0);
  });

  test('worker_processes: auto, a number, dev mode, and APISIX_WORKER_PROCESSES', () => {
    assert.equal(load('nginx_config:\n  worker_processes: auto\n').config.nginx_config.worker_processes, availableParallelism());
    assert.equal(load('nginx_config:\n  worker_processes: 3\n').config.nginx_config.worker_processes, 3);
    assert.equal(load('nginx_config:\n  worker_processes: "3"\n').config.nginx_config.worker_processes, 3);
    assert.equal(load('apisix:\n  enable_dev_mode: true\n').config.nginx_config.worker_processes, 1);
    const fromEnv = load('apisix:\n  enable_dev_mode: true\nnginx_config:\n  worker_processes: 3\n', {
      APISIX_WORKER_PROCESSES: '5',
    });
    assert.equal(fromEnv.config.nginx_config.worker_processes, 5);
    assert.equal(
      failure('', { APISIX_WORKER_PROCESSES: 'many' }).message,
      `${FILE}: environment variable APISIX_WORKER_PROCESSES must be a whole number >= 1 (got "many")`,
    );
  });

  test('relative paths resolve against the config file directory', () => {
    const { config } = load(`
fngate:
  data_dir: state
  standalone_file: ../routes/apisix.yaml
  custom_plugin_dirs: [plugins, /opt/fngate/plugins]
deployment:
  etcd:
    tls:
      cert: certs/etcd.crt
      key: /secure/etcd.key
`);
    assert.equal(config.fngate.data_dir, '/etc/fngate/state');
    assert.equal(config.fngate.standalone_file, '/etc/routes/apisix.yaml');
    assert.deepEqual(config.fngate.custom_plugin_dirs, ['/etc/fngate/plugins', '/opt/fngate/plugins']);
    assert.deepEqual(config.deployment.etcd.tls, { cert: '/etc/fngate/certs/etcd.crt', key: '/secure/etcd.key', verify: true });
  });

  test('config_provider follows the role, and the role decides enable_admin', () => {
    const etcd = load('deployment:\n  role_traditional:\n    config_provider: etcd\n').config;
    assert.equal(etcd.deployment.config_provider, 'etcd');

    const yaml = load('deployment:\n  role_traditional:\n    config_provider: yaml\n').config;
    assert.equal(yaml.deployment.config_provider, 'yaml');
    assert.equal(yaml.fngate.standalone_file, '/etc/fngate/apisix.yaml');

    const dataPlane = load('deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n').config;
    assert.equal(dataPlane.deployment.config_provider, 'yaml');
    assert.equal(dataPlane.apisix.enable_admin, false);

    const json = load('deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: json\n').config;
    assert.equal(json.deployment.config_provider, 'yaml');
    assert.equal(json.fngate.standalone_file, '/etc/fngate/apisix.json');

    const controlPlane = load('apisix:\n  enable_admin: false\ndeployment:\n  role: control_plane\n').config;
    assert.equal(controlPlane.deployment.config_provider, 'etcd');
    assert.equal(controlPlane.apisix.enable_admin, true);
  });

  test('allow_admin: null or an empty list allows every client', () => {
    assert.equal(load('deployment:\n  admin:\n    allow_admin: ~\n').config.deployment.admin.allow_admin, null);
    assert.equal(load('deployment:\n  admin:\n    allow_admin: []\n').config.deployment.admin.allow_admin, null);
    assert.deepEqual(load('deployment:\n  admin:\n    allow_admin: [10.0.0.0/8, "::1"]\n').config.deployment.admin.allow_admin, [
      '10.0.0.0/8',
      '::1',
    ]);
  });

  test('admin_key: null or an empty list leaves no entries (a key is generated later); numeric keys become text', () => {
    assert.deepEqual(load('deployment:\n  admin:\n    admin_key: ~\n').config.deployment.admin.admin_key, []);
    assert.deepEqual(load('deployment:\n  admin:\n    admin_key: []\n').config.deployment.admin.admin_key, []);
    assert.deepEqual(load('deployment:\n  admin:\n    admin_key:\n      - name: a\n        key:\n        role: admin\n').config.deployment.admin.admin_key, [
      { name: 'a', key: '', role: 'admin' },
    ]);
    const { config } = load('deployment:\n  admin:\n    admin_key:\n      - {name: ops, key: 1234567890123456, role: admin}\n');
    assert.deepEqual(config.deployment.admin.admin_key, [{ name: 'ops', key: '1234567890123456', role: 'admin' }]);
    // Past 2^53 YAML's number has already lost digits: the key must be quoted.
    assert.equal(
      failure('deployment:\n  admin:\n    admin_key:\n      - {name: ops, key: 12345678901234567890, role: admin}\n').message,
      `${FILE}: deployment.admin.admin_key[0].key: must be a string (put quotes around a long numeric key) (got 12345678901234567000)`,
    );
  });

  test('removing optional sections: plugin_attr and data_encryption', () => {
    const { config } = load('plugin_attr: ~\napisix:\n  data_encryption: ~\n  node_listen: 9091\n');
    assert.deepEqual(config.plugin_attr, {});
    assert.deepEqual(config.apisix.data_encryption, { enable_encrypt_fields: false, keyring: [] });
  });

  test('a single keyring key is accepted as a one-item list', () => {
    const { config } = load('apisix:\n  data_encryption:\n    keyring: abcdefghijklmnop\n');
    assert.deepEqual(config.apisix.data_encryption.keyring, ['abcdefghijklmnop']);
  });

  test('plugins: kept as listed; plugin_attr merges over the defaults', () => {
    const { config } = load(`
plugins: [key-auth, serverless-pre-function, aws-lambda]
plugin_attr:
  prometheus:
    export_addr:
      port: 9092
  my-plugin:
    level: 3
`);
    assert.deepEqual(config.plugins, ['key-auth', 'serverless-pre-function', 'aws-lambda']);
    assert.deepEqual((config.plugin_attr.prometheus as { export_addr: unknown }).export_addr, { ip: '127.0.0.1', port: 9092 });
    assert.deepEqual(config.plugin_attr['my-plugin'], { level: 3 });
  });

  test('env substitution feeds typed values; APISIX_DEPLOYMENT_ETCD_HOST replaces the etcd hosts', () => {
    const { config } = load(
      `
apisix:
  node_listen: \${{PROXY_PORT}}
  enable_ipv6: \${{IPV6:=false}}
deployment:
  etcd:
    prefix: \${{PREFIX:=/apisix}}
`,
      { PROXY_PORT: '8000', APISIX_DEPLOYMENT_ETCD_HOST: '["https://etcd-1:2379","https://etcd-2:2379"]' },
    );
    assert.deepEqual(config.apisix.node_listen, [{ ip: '0.0.0.0', port: 8000 }]);
    assert.equal(config.apisix.enable_ipv6, false);
    assert.equal(config.deployment.etcd.prefix, '/apisix');
    assert.deepEqual(config.deployment.etcd.host, ['https://etcd-1:2379', 'https://etcd-2:2379']);

    assert.match(
      failure('', { APISIX_DEPLOYMENT_ETCD_HOST: 'http://etcd:2379' }).message,
      /APISIX_DEPLOYMENT_ETCD_HOST must be a JSON array of http:\/\/ or https:\/\/ URLs/,
    );
  });
});

describe('errors', () => {
  test('a missing environment variable names the variable and where it is used', () => {
    assert.equal(
      failure('apisix:\n  node_listen: ${{PROXY_PORT}}\n').message,
      `${FILE}: apisix.node_listen: can't find environment variable PROXY_PORT`,
    );
  });

  test('a merge type clash uses APISIX wording', () => {
    assert.equal(
      failure('deployment:\n  etcd:\n    timeout: soon\n').message,
      `${FILE}: failed to merge, path[deployment->etcd->timeout] expect: number, but got: string`,
    );
  });

  test('schema violations name the exact key path', () => {
    const cases: [string, string][] = [
      [
        'deployment:\n  admin:\n    admin_key:\n      - {name: a, key: k, role: root}\n',
        'deployment.admin.admin_key[0].role: must be one of admin, viewer (got "root")',
      ],
      ['deployment:\n  admin:\n    admin_key:\n      - {key: k, role: admin}\n', 'deployment.admin.admin_key[0].name: is required'],
      ['deployment:\n  admin:\n    admin_listen:\n      port: 70000\n', 'deployment.admin.admin_listen.port: must be a port number (1-65535) (got 70000)'],
      ['apisix:\n  node_listen: [8080, 0]\n', 'apisix.node_listen[1]: must be a port number (1-65535) or a mapping {ip, port} (got 0)'],
      ['apisix:\n  node_listen: [{ip: localhost, port: 80}]\n', 'apisix.node_listen[0].ip: must be an IP address (got "localhost")'],
      ['deployment:\n  etcd:\n    host: ["etcd:2379"]\n', 'deployment.etcd.host[0]: must be an http:// or https:// URL (got "etcd:2379")'],
      ['deployment:\n  etcd:\n    host: []\n', 'deployment.etcd.host: must list at least 1 item(s)'],
      ['deployment:\n  admin:\n    allow_admin: [10.0.0.0/33]\n', 'deployment.admin.allow_admin[0]: must be an IP address or CIDR block (got "10.0.0.0/33")'],
      ['apisix:\n  data_encryption:\n    keyring: [tooshort]\n', 'apisix.data_encryption.keyring[0]: must be a key of exactly 16 or 32 bytes (got "tooshort")'],
      ['nginx_config:\n  worker_processes: 0\n', 'nginx_config.worker_processes: must be auto or a whole number >= 1 (got 0)'],
      ['nginx_config:\n  worker_processes: many\n', 'nginx_config.worker_processes: must be auto or a whole number >= 1 (got "many")'],
      ['deployment:\n  role_traditional:\n    config_provider: consul\n', 'deployment.role_traditional.config_provider: must be one of embedded, yaml, etcd (got "consul")'],
      ['deployment:\n  role: standalone\n', 'deployment.role: must be one of traditional, control_plane, data_plane (got "standalone")'],
      ['apisix:\n  router:\n    http: radixtree_sni\n', 'apisix.router.http: must be one of radixtree_host_uri, radixtree_uri, radixtree_uri_with_parameter (got "radixtree_sni")'],
      ['fngate:\n  log_level: loud\n', 'fngate.log_level: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
      ['apisix:\n  enable_control: ~\n', 'apisix.enable_control: is required'],
      ['plugins: [key-auth, key-auth]\n', 'plugins: must not list the same item twice (got a list)'],
    ];
    for (const [yaml, expected] of cases) {
      assert.equal(failure(yaml).message, `${FILE}: ${expected}`, yaml);
    }
  });

  test('every problem is reported at once, one line each', () => {
    const err = failure('apisix:\n  node_listen: 70000\n  enable_ipv6: true\ndeployment:\n  admin:\n    admin_listen:\n      ip: nowhere\n');
    assert.deepEqual(err.message.split('\n'), [
      `${FILE}: apisix.node_listen: must be a port number (1-65535) or a list of ports or {ip, port} mappings (got 70000)`,
      `${FILE}: deployment.admin.admin_listen.ip: must be an IP address (got "nowhere")`,
    ]);
    assert.equal(err.issues.length, 2);
    assert.equal(err.file, FILE);
  });

  test('an unknown key is an error with a suggestion when a known sibling is close', () => {
    assert.equal(
      failure('deployment:\n  admin:\n    admin_keys: []\n').message,
      `${FILE}: deployment.admin.admin_keys: unknown key; did you mean "admin_key"?`,
    );
    assert.equal(
      failure('deployment:\n  admin:\n    enable_admin_cros: false\n').message,
      `${FILE}: deployment.admin.enable_admin_cros: unknown key; did you mean "enable_admin_cors"?`,
    );
    assert.equal(
      failure('deployment:\n  admin:\n    admin_key:\n      - {name: a, key: k, rol: admin}\n').message,
      [
        `${FILE}: deployment.admin.admin_key[0].role: is required`,
        `${FILE}: deployment.admin.admin_key[0].rol: unknown key; did you mean "role"?`,
      ].join('\n'),
    );
    assert.equal(failure('frobnicate: true\n').message, `${FILE}: frobnicate: unknown key`);
  });

  test('an APISIX 2.x key that moved says where it lives now', () => {
    assert.equal(
      failure('apisix:\n  admin_key:\n    - {name: admin, key: k, role: admin}\n').message,
      `${FILE}: apisix.admin_key: unknown key; in APISIX 3 this setting is deployment.admin.admin_key`,
    );
  });

  test('admin_key_required: false is refused: fngate always requires a key', () => {
    assert.match(
      failure('deployment:\n  admin:\n    admin_key_required: false\n').message,
      /^\/etc\/fngate\/config\.yaml: deployment\.admin\.admin_key_required: cannot be false: fngate always requires an Admin API key/,
    );
    assert.doesNotThrow(() => load('deployment:\n  admin:\n    admin_key_required: true\n'));
  });

  test('https_admin is refused rather than silently served in plain text', () => {
    assert.match(failure('deployment:\n  admin:\n    https_admin: true\n').message, /deployment\.admin\.https_admin: fngate does not serve/);
  });

  test('a data plane must say where its configuration comes from', () => {
    assert.equal(
      failure('deployment:\n  role: data_plane\n').message,
      `${FILE}: deployment.role_data_plane.config_provider: is required when deployment.role is data_plane (etcd, yaml or json)`,
    );
  });

  test('invalid YAML reports line and column', () => {
    const err = failure('apisix:\n  node_listen: [9080\ndeployment: {}\n');
    assert.match(err.message, /^\/etc\/fngate\/config\.yaml: invalid YAML: .* at line \d+, column \d+$/);
    assert.match(failure('apisix: 1\napisix: 2\n').message, /invalid YAML: Map keys must be unique at line 2, column 1/);
    assert.equal(failure('- just\n- a list\n').message, `${FILE}: the top level must be a mapping of settings (apisix:, deployment:, ...)`);
  });
});

describe('keys fngate ignores', () => {
  test('APISIX keys fngate does not implement are accepted and listed in one warning', () => {
    const { warnings } = load(`
apisix:
  ssl:
    enable: true
    listen: [{port: 9443}]
  proxy_mode: http
nginx_config:
  http:
    lua_shared_dict:
      plugin-limit-count: 10m
discovery:
  dns:
    servers: ["127.0.0.1:8600"]
stream_plugins: [ip-restriction]
plugin_attr:
  skywalking:
    service_name: APISIX
graphql:
  max_size: 1048576
`);
    assert.deepEqual(warnings, [
      `${FILE}: ignored by fngate (APISIX settings fngate does not implement): apisix.ssl, apisix.proxy_mode, ` +
        'nginx_config.http.lua_shared_dict, plugin_attr.skywalking, discovery, stream_plugins, graphql',
    ]);
  });

  test('a configuration that only uses honoured keys produces no warning', () => {
    assert.deepEqual(load('apisix:\n  node_listen: 8080\nplugins: [key-auth]\n').warnings, []);
  });
});

describe('port conflicts', () => {
  test('the proxy and the Admin API on one port', () => {
    assert.equal(
      failure('apisix:\n  node_listen: [9080, 9180]\n').message,
      `${FILE}: port 9180 is used by both the proxy (apisix.node_listen) and the Admin API (deployment.admin.admin_listen)`,
    );
  });

  test('the Prometheus export server counts while prometheus is installed', () => {
    assert.equal(
      failure('apisix:\n  node_listen: 9091\n').message,
      `${FILE}: port 9091 is used by both the proxy (apisix.node_listen) and the Prometheus export server (plugin_attr.prometheus.export_addr)`,
    );
    assert.doesNotThrow(() => load('apisix:\n  node_listen: 9091\nplugins: [key-auth]\n'));
    assert.doesNotThrow(() => load('apisix:\n  node_listen: 9091\nplugin_attr:\n  prometheus:\n    enable_export_server: false\n'));
  });

  test('the control API, and the same proxy address listed twice', () => {
    assert.match(failure('apisix:\n  control:\n    port: 9180\n').message, /port 9180 is used by both the Admin API .* and the control API/);
    assert.equal(failure('apisix:\n  node_listen: [8080, 8080]\n').message, `${FILE}: the proxy (apisix.node_listen) lists 0.0.0.0:8080 twice`);
    assert.doesNotThrow(() => load('apisix:\n  node_listen: [{ip: 127.0.0.1, port: 8080}, {ip: 127.0.0.2, port: 8080}]\n'));
  });

  test('listeners a role does not open do not conflict', () => {
    // A data plane has no Admin API; a control plane no proxy.
    assert.doesNotThrow(() =>
      load('apisix:\n  node_listen: 9180\ndeployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n'),
    );
    assert.doesNotThrow(() => load('apisix:\n  node_listen: 9180\ndeployment:\n  role: control_plane\n'));
    assert.doesNotThrow(() => load('apisix:\n  enable_admin: false\n  node_listen: 9180\n'));
  });
});

describe('an APISIX config.yaml loads unchanged', () => {
  test('the shape from APISIX docs: admin keys with roles, allow_admin, etcd', () => {
    const { config, warnings } = load(`
apisix:
  node_listen: 9080
  enable_ipv6: false
  enable_control: true
  control:
    ip: "0.0.0.0"
    port: 9092

deployment:
  role: traditional
  role_traditional:
    config_provider: etcd
  admin:
    admin_key_required: true
    admin_key:
      - name: admin
        key: edd1c9f034335f136f87ad84b625c8f1
        role: admin
      - name: viewer
        key: 4054f7cf07e344346cd3f287985e76a2
        role: viewer
    enable_admin_cors: true
    allow_admin:
      - 127.0.0.0/24
      - 0.0.0.0/0
    admin_listen:
      ip: 0.0.0.0
      port: 9180
    admin_api_version: v3
  etcd:
    host:
      - "http://etcd:2379"
    prefix: "/apisix"
    timeout: 30
    watch_timeout: 50
    startup_retry: 2
    tls:
      verify: true

plugin_attr:
  prometheus:
    export_addr:
      ip: "0.0.0.0"
      port: 9091
`);
    assert.deepEqual(warnings, []);
    assert.equal(config.deployment.config_provider, 'etcd');
    assert.equal(config.apisix.enable_ipv6, false);
    assert.deepEqual(config.apisix.control, { ip: '0.0.0.0', port: 9092 });
    assert.deepEqual(config.deployment.admin.admin_key, [
      { name: 'admin', key: 'edd1c9f034335f136f87ad84b625c8f1', role: 'admin' },
      { name: 'viewer', key: '4054f7cf07e344346cd3f287985e76a2', role: 'viewer' },
    ]);
    assert.deepEqual(config.deployment.admin.admin_listen, { ip: '0.0.0.0', port: 9180 });
    assert.deepEqual(config.deployment.admin.allow_admin, ['127.0.0.0/24', '0.0.0.0/0']);
    assert.deepEqual(config.deployment.etcd.host, ['http://etcd:2379']);
  });

  test('the long form from config.yaml.example: nginx tuning, snippets, plugin lists', () => {
    const { config, warnings } = load(`
apisix:
  node_listen:
    - 9080
  enable_admin: true
  enable_dev_mode: false
  enable_reuseport: true
  show_upstream_status_in_response_header: false
  enable_ipv6: true
  enable_http2: true
  enable_server_tokens: true
  extra_lua_path: ""
  proxy_cache:
    cache_ttl: 10s
    zones:
      - name: memory_cache
        memory_size: 50m
  delete_uri_tail_slash: false
  normalize_uri_like_servlet: false
  router:
    http: radixtree_uri
    ssl: radixtree_sni
  resolver_timeout: 5
  enable_control: true
  data_encryption:
    enable_encrypt_fields: true
    keyring:
      - qeddd145sfvddff3
      - edd1c9f0985e76a2
  events:
    module: lua-resty-events
nginx_config:
  error_log: logs/error.log
  error_log_level: warn
  worker_processes: auto
  worker_rlimit_nofile: 20480
  worker_shutdown_timeout: 240s
  event:
    worker_connections: 10620
  main_configuration_snippet: |
    # Add custom Nginx main configuration to nginx.conf.
  http:
    enable_access_log: true
    keepalive_timeout: 60s
    client_header_timeout: 60s
    client_body_timeout: 60s
    client_max_body_size: 0
    send_timeout: 10s
    underscores_in_headers: "on"
    real_ip_header: X-Real-IP
    real_ip_recursive: "off"
    real_ip_from:
      - 127.0.0.1
      - "unix:"
    upstream:
      keepalive: 320
      keepalive_requests: 1000
      keepalive_timeout: 60s
plugins:
  - real-ip
  - serverless-pre-function
  - key-auth
  - prometheus
  - aws-lambda
  - azure-functions
  - openwhisk
  - openfunction
  - serverless-post-function
stream_plugins:
  - ip-restriction
plugin_attr:
  log-rotate:
    interval: 3600
  prometheus:
    export_uri: /apisix/prometheus/metrics
    metric_prefix: apisix_
    enable_export_server: true
    export_addr:
      ip: 127.0.0.1
      port: 9091
deployment:
  role: traditional
  role_traditional:
    config_provider: etcd
  admin:
    admin_key_required: true
    admin_key:
      - name: admin
        key: ''
        role: admin
    enable_admin_cors: true
    enable_admin_ui: true
    allow_admin:
      - 127.0.0.0/24
    admin_listen:
      ip: 0.0.0.0
      port: 9180
    admin_api_version: v3
  etcd:
    host:
      - "http://127.0.0.1:2379"
    prefix: /apisix
    timeout: 30
    watch_timeout: 50
    startup_retry: 2
    tls:
      verify: true
`);
    assert.equal(config.apisix.router.http, 'radixtree_uri');
    assert.equal(config.plugins?.length, 9);
    assert.equal(config.deployment.admin.admin_key[0]?.key, '');
    assert.equal(warnings.length, 1);
    for (const key of ['apisix.enable_reuseport', 'apisix.proxy_cache', 'apisix.router.ssl', 'nginx_config.error_log', 'nginx_config.main_configuration_snippet', 'nginx_config.http.underscores_in_headers', 'stream_plugins', 'plugin_attr.log-rotate', 'deployment.admin.enable_admin_ui']) {
      assert.ok(warnings[0]?.includes(key), `warning lists ${key}`);
    }
  });
});

describe('reading files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fngate-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('loadConfig reads the file, resolves paths beside it, and logs warnings', async () => {
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'apisix:\n  ssl:\n    enable: false\nfngate:\n  data_dir: ./state\n');
    const lines: { msg: string; level: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) });

    const config = await loadConfig(file, { env: {}, logger });
    assert.equal(config.configPath, file);
    assert.equal(config.configDir, dir);
    assert.equal(config.fngate.data_dir, join(dir, 'state'));
    assert.deepEqual(
      lines.map((line) => line.msg),
      [`${file}: ignored by fngate (APISIX settings fngate does not implement): apisix.ssl`],
    );
  });

  test('a missing file is a ConfigError naming it', async () => {
    const file = join(dir, 'absent.yaml');
    await assert.rejects(readConfig(file, { env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${file}: file not found`);
      return true;
    });
  });

  test("the repository's conf/config.yaml loads with no errors or warnings", async () => {
    const file = new URL('../../conf/config.yaml', import.meta.url).pathname;
    const { config, warnings } = await readConfig(file, { env: {} });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.apisix.node_listen, [{ ip: '0.0.0.0', port: 9080 }]);
    assert.deepEqual(config.deployment.admin.admin_listen, { ip: '127.0.0.1', port: 9180 });
    assert.equal(config.deployment.config_provider, 'embedded');
    assert.deepEqual(config.deployment.admin.admin_key, [{ name: 'admin', key: '', role: 'admin' }]);
  });
});
