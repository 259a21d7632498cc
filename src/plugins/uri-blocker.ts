/**
 * uri-blocker (APISIX `apisix/plugins/uri-blocker.lua`, priority 2900,
 * rewrite): refuse requests whose URI matches one of the `block_rules`
 * (PCRE patterns, searched anywhere in the URI as `ngx.re.find` does).
 *
 * The subject is `$request_uri` as APISIX defines it: the normalised path
 * plus `?` and the query string as sent (spec/plugins.md §6.3), so an
 * encoded `%2E` cannot slip past a rule about `.`. A blocked request ends
 * with `rejected_code` (403) and, with `rejected_msg`, the body
 * `{"error_msg": <rejected_msg>}`; without it, nginx's page for the status.
 *
 * APISIX joins the rules with `|` into one pattern; each rule is compiled
 * on its own here, which matches the same URIs and reports a bad rule by
 * itself.
 */
import { definePlugin, type Verdict } from '../pdk/plugin.js';
import { compilePcre } from '../router/pcre.js';
import { errorMessage } from '../errors.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface UriBlockerConf {
  readonly block_rules: readonly string[];
  readonly rejected_code: number;
  readonly rejected_msg?: string;
  readonly case_insensitive: boolean;
}

/** Node can only send statuses of three digits. */
const MAX_STATUS = 999;

interface Compiled {
  readonly rules: readonly RegExp[];
  readonly verdict: Verdict;
}

const compiled = compiledPerConf((conf: UriBlockerConf): Compiled => {
  const rules = conf.block_rules.map((rule) => compilePcre(rule, conf.case_insensitive));
  return {
    // APISIX's joined pattern of no rules is the empty pattern, which matches every URI.
    rules: rules.length === 0 ? [/(?:)/] : rules,
    verdict: conf.rejected_msg === undefined
      ? conf.rejected_code
      : Object.freeze([conf.rejected_code, Object.freeze({ error_msg: conf.rejected_msg })] as const),
  };
});

/**
 * @example
 *   // route plugins: { "uri-blocker": { "block_rules": ["root\\.exe", "\\.git/"], "rejected_msg": "access is not allowed" } }
 *   // GET /root.exe?a=1 → 403 {"error_msg":"access is not allowed"}
 */
export default definePlugin<UriBlockerConf>({
  name: 'uri-blocker',
  version: '0.1',
  priority: 2900,
  schema: {
    type: 'object',
    properties: {
      block_rules: {
        type: 'array',
        items: { type: 'string', minLength: 1, maxLength: 4096 },
        uniqueItems: true,
      },
      rejected_code: { type: 'integer', minimum: 200, default: 403 },
      rejected_msg: { type: 'string', minLength: 1 },
      case_insensitive: { type: 'boolean', default: false },
    },
    required: ['block_rules'],
  },

  check(conf) {
    for (const rule of conf.block_rules) {
      try {
        compilePcre(rule, conf.case_insensitive);
      } catch (err) {
        // The shape of resty.core.regex's message; the reason is the JavaScript engine's.
        return `pcre_compile() failed: ${errorMessage(err)} in "${rule}"`;
      }
    }
    // APISIX has no upper bound; Node cannot send a status past three digits.
    if (conf.rejected_code > MAX_STATUS) return `rejected_code must be at most ${MAX_STATUS}`;
    return undefined;
  },

  rewrite(conf, ctx) {
    const c = compiled(conf);
    const uri = String(ctx.var.request_uri);
    for (const rule of c.rules) {
      if (rule.test(uri)) return c.verdict;
    }
    return undefined;
  },
});
