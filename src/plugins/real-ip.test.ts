/**
 * real-ip: address parsing, the sources (X-Forwarded-For, any variable),
 * trusted peers, the recursive walk, and the new address as the core sees it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import { GatewayContext } from '../plugin/context.js';
import realIp, { parseClientAddress } from './real-ip.js';

const h = new PluginHarness(realIp);

/** Run rewrite from `peer` and return the client address afterwards, as plugins and the core see it. */
async function clientAfter(conf: Record<string, unknown>, target: string, headers: Record<string, string> = {}, peer = '127.0.0.1') {
  const ctx = h.request(target, { headers, remoteAddr: peer });
  assert.equal(ctx.var.remote_addr, peer, 'read before the plugin runs (cached)');
  assert.equal(await h.run('rewrite', conf, ctx), undefined, 'never ends the request');
  const core = GatewayContext.coreOf(ctx);
  assert.equal(core.remoteAddr, ctx.var.remote_addr, 'the core forwards what plugins see');
  return { addr: ctx.var.remote_addr, port: ctx.var.remote_port };
}

describe('real-ip: parseClientAddress', () => {
  test('IPv4 and IPv6, with and without a port', () => {
    assert.deepEqual(parseClientAddress('1.2.3.4'), { ip: '1.2.3.4' });
    assert.deepEqual(parseClientAddress('1.2.3.4:9080'), { ip: '1.2.3.4', port: 9080 });
    assert.deepEqual(parseClientAddress('[::1]'), { ip: '::1' });
    assert.deepEqual(parseClientAddress('[2001:db8::1]:443'), { ip: '2001:db8::1', port: 443 });
    assert.deepEqual(parseClientAddress('2001:db8::1'), { ip: '2001:db8::1' });
  });

  test('anything else is refused', () => {
    for (const bad of ['', 'example.com', '1.2.3', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:x', '[::1', '[::1]x', '[1.2.3.4]', '::1:99999:', ' 1.2.3.4']) {
      assert.equal(parseClientAddress(bad), undefined, bad);
    }
  });
});

describe('real-ip: checks', () => {
  test('source is required and not empty; trusted addresses must be IPs or CIDRs', () => {
    assert.equal(h.check({}), 'failed to check the configuration of plugin real-ip err: property "source" is required');
    assert.match(h.check({ source: '' }) ?? '', /string too short/);
    assert.match(h.check({ source: 'arg_ip', trusted_addresses: [] }) ?? '', /expect array to have at least 1 items/);
    assert.match(h.check({ source: 'arg_ip', trusted_addresses: ['::1/200'] }) ?? '', /err: invalid ip address: ::1\/200$/);
    assert.deepEqual(h.conf({ source: 'arg_ip' }), { source: 'arg_ip', recursive: false });
  });
});

describe('real-ip: rewrite', () => {
  test('any variable as the source, with a port changing $remote_port', async () => {
    const conf = h.conf({ source: 'arg_realip' });
    assert.deepEqual(await clientAfter(conf, '/x?realip=1.2.3.4:9080'), { addr: '1.2.3.4', port: '9080' });
    assert.equal((await clientAfter(h.conf({ source: 'http_x_real_ip' }), '/x', { 'X-Real-IP': '2001:db8::5' })).addr, '2001:db8::5');
  });

  test('X-Forwarded-For: the last address of the list', async () => {
    const conf = h.conf({ source: 'http_x_forwarded_for' });
    assert.equal((await clientAfter(conf, '/x', { 'X-Forwarded-For': '10.0.0.1, 10.0.0.2,   10.0.0.3' })).addr, '10.0.0.3');
    assert.equal((await clientAfter(conf, '/x', { 'X-Forwarded-For': '10.0.0.9' })).addr, '10.0.0.9');
  });

  test('a missing or malformed value leaves the address alone', async () => {
    const conf = h.conf({ source: 'arg_realip' });
    assert.equal((await clientAfter(conf, '/x')).addr, '127.0.0.1');
    assert.equal((await clientAfter(conf, '/x?realip=not-an-ip')).addr, '127.0.0.1');
    assert.equal((await clientAfter(conf, '/x?realip=1.2.3.4:70000')).addr, '127.0.0.1');
    assert.equal((await clientAfter(conf, '/x?realip')).addr, '127.0.0.1', 'a bare flag is not an address');
  });

  test('trusted_addresses: only requests from trusted peers are changed', async () => {
    const conf = h.conf({ source: 'http_x_forwarded_for', trusted_addresses: ['10.0.0.0/8', '::1'] });
    const headers = { 'X-Forwarded-For': '203.0.113.7' };
    assert.equal((await clientAfter(conf, '/x', headers, '10.9.9.9')).addr, '203.0.113.7');
    assert.equal((await clientAfter(conf, '/x', headers, '::1')).addr, '203.0.113.7');
    assert.equal((await clientAfter(conf, '/x', headers, '192.168.1.1')).addr, '192.168.1.1');
  });

  test('recursive: the last untrusted address from the right, the leftmost when all are trusted', async () => {
    const conf = h.conf({ source: 'http_x_forwarded_for', trusted_addresses: ['10.0.0.0/8'], recursive: true });
    const from = (xff: string) => clientAfter(conf, '/x', { 'X-Forwarded-For': xff }, '10.0.0.1');
    assert.equal((await from('198.51.100.1, 203.0.113.7, 10.0.0.2, 10.0.0.3')).addr, '203.0.113.7');
    assert.equal((await from('10.1.1.1, 10.0.0.2')).addr, '10.1.1.1');
    const plain = h.conf({ source: 'http_x_forwarded_for', trusted_addresses: ['10.0.0.0/8'] });
    const last = await clientAfter(plain, '/x', { 'X-Forwarded-For': '203.0.113.7, 10.0.0.2' }, '10.0.0.1');
    assert.equal(last.addr, '10.0.0.2', 'without recursive the last address is taken as is');
  });
});
