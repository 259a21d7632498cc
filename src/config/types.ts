/**
 * The static configuration (config.yaml) after defaults, env substitution,
 * merge and validation. Keys keep APISIX's names and nesting so that an
 * APISIX user's file maps onto it unchanged; values are normalised (listen
 * addresses as objects, durations in seconds) so the runtime never re-parses.
 */

export interface ListenAddress {
  readonly ip: string;
  readonly port: number;
}

export type AdminRole = 'admin' | 'viewer';

export interface AdminKey {
  readonly name: string;
  readonly key: string;
  readonly role: AdminRole;
}

export type ConfigProvider = 'embedded' | 'yaml' | 'etcd';

export type HttpRouterKind = 'radixtree_host_uri' | 'radixtree_uri' | 'radixtree_uri_with_parameter';

export interface EtcdConfig {
  readonly host: readonly string[];
  readonly prefix: string;
  /** Seconds. */
  readonly timeout: number;
  readonly watch_timeout: number;
  readonly startup_retry: number;
  readonly resync_delay: number;
  readonly health_check_timeout: number;
  readonly user?: string;
  readonly password?: string;
  readonly tls?: {
    readonly cert?: string;
    readonly key?: string;
    readonly verify: boolean;
    readonly sni?: string;
  };
}

export interface FngateConfig {
  /** Absolute path of the file this was loaded from (undefined for defaults only). */
  readonly configPath: string | undefined;
  /** Directory that relative paths in the config are resolved against. */
  readonly configDir: string;

  readonly apisix: {
    readonly node_listen: readonly ListenAddress[];
    readonly enable_ipv6: boolean;
    readonly enable_admin: boolean;
    readonly enable_server_tokens: boolean;
    readonly show_upstream_status_in_response_header: boolean;
    readonly delete_uri_tail_slash: boolean;
    readonly normalize_uri_like_servlet: boolean;
    readonly match_uri_encoded_slash: boolean;
    readonly router: { readonly http: HttpRouterKind };
    readonly data_encryption: {
      readonly enable_encrypt_fields: boolean;
      readonly keyring: readonly string[];
    };
    readonly trusted_addresses?: readonly string[];
    readonly enable_control: boolean;
    readonly control: ListenAddress;
    /** MiB; 0 = unlimited. */
    readonly max_post_args_readable_size: number;
  };

  readonly nginx_config: {
    /** Resolved: 'auto' becomes the CPU count. */
    readonly worker_processes: number;
    /** Seconds a graceful stop waits for in-flight requests (APISIX default 240 s). */
    readonly worker_shutdown_timeout: number;
    readonly http: {
      /** Seconds an idle client keep-alive connection stays open (nginx default 60 s; Node's is 5 s). */
      readonly keepalive_timeout: number;
      /** Seconds a client may take to send the request head. */
      readonly client_header_timeout: number;
      /** Seconds allowed between two reads of the request body. */
      readonly client_body_timeout: number;
      /** Seconds allowed between two writes of the response to the client. */
      readonly send_timeout: number;
      /** Bytes; 0 = unlimited. */
      readonly client_max_body_size: number;
      readonly real_ip_header: string;
      readonly real_ip_from: readonly string[];
      readonly upstream: {
        readonly keepalive: number;
        readonly keepalive_requests: number;
        /** Seconds. */
        readonly keepalive_timeout: number;
      };
    };
  };

  readonly deployment: {
    readonly role: 'traditional' | 'control_plane' | 'data_plane';
    readonly config_provider: ConfigProvider;
    readonly admin: {
      readonly admin_key: readonly AdminKey[];
      readonly admin_listen: ListenAddress;
      /** null = every address allowed (APISIX: key removed with `~`). */
      readonly allow_admin: readonly string[] | null;
      readonly enable_admin_cors: boolean;
      readonly admin_api_version: 'v3';
    };
    readonly etcd: EtcdConfig;
  };

  /**
   * Installed HTTP plugins as listed in config.yaml (order irrelevant:
   * execution order is by priority); undefined = fngate's default set (all built-ins).
   */
  readonly plugins: readonly string[] | undefined;
  readonly plugin_attr: Readonly<Record<string, Readonly<Record<string, unknown>>>>;

  /** Settings that only fngate has, kept apart from APISIX's keys (top-level `fngate:`). */
  readonly fngate: {
    /** Absolute directory of the embedded store and the generated admin key (default `<configDir>/data`). */
    readonly data_dir: string;
    /** Standalone file for config_provider yaml: absolute path (default `<configDir>/apisix.yaml`, or `.json`). */
    readonly standalone_file: string;
    /** Folders custom plugins are loaded from (absolute). */
    readonly custom_plugin_dirs: readonly string[];
    /** Log level for the process (pino levels). */
    readonly log_level: string;
    /** Seconds a worker's event loop may stall before the primary replaces it. */
    readonly worker_watchdog_timeout: number;
    /** The serverless plugins' sandbox (docs/plugins/serverless.md). */
    readonly serverless: ServerlessSettings;
  };
}

/** `fngate.serverless`: how user functions (serverless plugins, `_meta.pre_function`) run. */
export interface ServerlessSettings {
  /** `vm`: a node:vm context per function (default); `isolated`: an isolated-vm isolate per function. */
  readonly sandbox: 'vm' | 'isolated';
  /** Module names functions may `require()` (vm sandbox only). */
  readonly allowed_modules: readonly string[];
  /** isolated: time limit of each call into a function, ms. */
  readonly timeout_ms: number;
  /** isolated: heap cap of each function's isolate, MB. */
  readonly memory_mb: number;
}
