/**
 * ip-restriction's checks and access phase: allow and deny lists over
 * IPv4, IPv6, CIDRs and IPv4-mapped clients; the configured message and code.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import ipRestriction from './ip-restriction.js';

const h = new PluginHarness(ipRestriction);

function access(conf: Record<string, unknown>, remoteAddr: string): Promise<unknown> {
  return h.run('access', conf, h.request('/x', { remoteAddr }));
}

describe('ip-restriction: checks', () => {
  test('exactly one of whitelist and blacklist', () => {
    assert.match(h.check({}) ?? '', /value should match only one schema, but matches none/);
    assert.match(h.check({ whitelist: ['1.1.1.1'], blacklist: ['2.2.2.2'] }) ?? '', /value should match only one schema, but matches both schemas 1 and 2/);
  });

  test('entries must be IPs or CIDRs; message 1..1024 chars; response_code 403 or 404', () => {
    assert.match(h.check({ whitelist: ['10.0.0.0/33'] }) ?? '', /failed to check the configuration of plugin ip-restriction/);
    assert.match(h.check({ whitelist: ['::1/200'] }) ?? '', /err: invalid ip address: ::1\/200$/);
    assert.match(h.check({ whitelist: ['1.1.1.1'], message: '' }) ?? '', /property "message" validation failed/);
    assert.match(h.check({ whitelist: ['1.1.1.1'], response_code: 401 }) ?? '', /property "response_code" validation failed/);
    const conf = h.conf({ blacklist: ['::1', '10.0.0.0/8'] });
    assert.equal(conf.message, 'Your IP address is not allowed');
    assert.equal(conf.response_code, 403);
  });
});

describe('ip-restriction: access', () => {
  test('a whitelist admits listed clients (v4, v6, CIDR, IPv4-mapped) and refuses the rest', async () => {
    const conf = h.conf({ whitelist: ['127.0.0.1', '10.1.0.0/16', '2001:db8::/32'] });
    for (const ip of ['127.0.0.1', '10.1.200.3', '2001:db8::7', '::ffff:10.1.0.9']) assert.equal(await access(conf, ip), undefined, ip);
    assert.deepEqual(await access(conf, '10.2.0.1'), [403, { message: 'Your IP address is not allowed' }]);
    assert.deepEqual(await access(conf, '2001:db9::1'), [403, { message: 'Your IP address is not allowed' }]);
  });

  test('a blacklist refuses listed clients with the configured message and code', async () => {
    const conf = h.conf({ blacklist: ['192.168.0.0/24'], message: 'go away', response_code: 404 });
    assert.deepEqual(await access(conf, '192.168.0.77'), [404, { message: 'go away' }]);
    assert.equal(await access(conf, '192.168.1.1'), undefined);
  });
});
