/**
 * ip-restriction (priority 3000, access): allow only the client addresses
 * of a `whitelist`, or refuse those of a `blacklist` (exactly one of the
 * two), IPv4/IPv6 addresses and CIDRs. The client address is
 * `$remote_addr`, i.e. after real-ip processing. A refused request gets
 * `response_code` (403, or 404 to hide the resource) and
 * `{"message": <message>}`, as APISIX 3.18's `ip-restriction` answers.
 */
import type { IpMatcher } from '../router/ip.js';
import type { Verdict } from '../pdk/plugin.js';
import { definePlugin } from '../pdk/plugin.js';
import { compileIpMatcher, isValidIpOrCidr } from '../router/ip.js';
import { ipDef } from '../resources/schema/common.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface IpRestrictionConf {
  readonly message: string;
  readonly response_code: number;
  readonly whitelist?: readonly string[];
  readonly blacklist?: readonly string[];
}

const schema = {
  type: 'object',
  properties: {
    message: { type: 'string', minLength: 1, maxLength: 1024, default: 'Your IP address is not allowed' },
    response_code: { type: 'integer', minimum: 403, maximum: 404, default: 403 },
    whitelist: { type: 'array', items: { anyOf: ipDef }, minItems: 1 },
    blacklist: { type: 'array', items: { anyOf: ipDef }, minItems: 1 },
  },
  oneOf: [{ required: ['whitelist'] }, { required: ['blacklist'] }],
};

interface Compiled {
  readonly matches: IpMatcher;
  /** True for a whitelist: a client that does not match is refused. */
  readonly allowList: boolean;
  readonly denial: Verdict;
}

const compiled = compiledPerConf((conf: IpRestrictionConf): Compiled => {
  const allowList = conf.whitelist !== undefined;
  return {
    matches: compileIpMatcher((allowList ? conf.whitelist : conf.blacklist) ?? []),
    allowList,
    denial: Object.freeze([conf.response_code, Object.freeze({ message: conf.message })] as const),
  };
});

/**
 * @example
 *   // route plugins: { "ip-restriction": { "whitelist": ["10.0.0.0/8", "::1"], "message": "internal only" } }
 */
const ipRestriction = definePlugin<IpRestrictionConf>({
  name: 'ip-restriction',
  version: '0.1',
  priority: 3000,
  schema,

  check(conf) {
    // The schema's IPv6 patterns are loose (as APISIX's are); every entry must really parse.
    for (const entry of [...(conf.whitelist ?? []), ...(conf.blacklist ?? [])]) {
      if (!isValidIpOrCidr(entry)) return `invalid ip address: ${entry}`;
    }
    return undefined;
  },

  access(conf, ctx) {
    const c = compiled(conf);
    const addr = ctx.var.remote_addr;
    const listed = typeof addr === 'string' && c.matches(addr);
    return listed === c.allowList ? undefined : c.denial;
  },
});

// Defaults are filled by the schema before any phase runs, so the registry's
// untyped conf always has this shape; phase parameters are contravariant, hence the cast.
export default ipRestriction;
