import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpMatcher, InvalidIpError, isValidIpOrCidr } from './ip.js';

describe('compileIpMatcher', () => {
  test('single IPv4 address matches only itself', () => {
    const m = compileIpMatcher(['127.0.0.1']);
    assert.equal(m('127.0.0.1'), true);
    assert.equal(m('127.0.0.2'), false);
    assert.equal(m('127.0.0.10'), false);
  });

  test('IPv4 CIDRs include their network and broadcast addresses only', () => {
    const m = compileIpMatcher(['192.168.1.0/24', '10.0.0.0/8']);
    assert.equal(m('192.168.1.0'), true);
    assert.equal(m('192.168.1.255'), true);
    assert.equal(m('192.168.2.0'), false);
    assert.equal(m('192.168.0.255'), false);
    assert.equal(m('10.255.255.255'), true);
    assert.equal(m('11.0.0.0'), false);
  });

  test('a CIDR written with host bits set covers the whole network (as ipmatcher shifts them away)', () => {
    const m = compileIpMatcher(['1.2.3.4/24']);
    assert.equal(m('1.2.3.200'), true);
    assert.equal(m('1.2.4.1'), false);
  });

  test('/0 and /32 edges', () => {
    assert.equal(compileIpMatcher(['0.0.0.0/0'])('255.255.255.255'), true);
    assert.equal(compileIpMatcher(['0.0.0.0/0'])('::1'), false);
    assert.equal(compileIpMatcher(['255.255.255.255/32'])('255.255.255.255'), true);
    assert.equal(compileIpMatcher(['255.255.255.255/32'])('255.255.255.254'), false);
  });

  test('many ranges use the sorted lookup and still find every member', () => {
    const list: string[] = [];
    for (let i = 0; i < 200; i += 2) list.push(`10.${i}.0.0/16`);
    const m = compileIpMatcher(list);
    for (let i = 0; i < 200; i++) {
      assert.equal(m(`10.${i}.7.9`), i % 2 === 0, `10.${i}.7.9`);
    }
    assert.equal(m('9.255.255.255'), false);
    assert.equal(m('10.200.0.0'), false);
  });

  test('overlapping and adjacent ranges are merged without losing addresses', () => {
    const m = compileIpMatcher(['10.0.0.0/25', '10.0.0.128/25', '10.0.0.64/26', '10.0.1.5']);
    assert.equal(m('10.0.0.0'), true);
    assert.equal(m('10.0.0.255'), true);
    assert.equal(m('10.0.1.5'), true);
    assert.equal(m('10.0.1.4'), false);
  });

  test('IPv6 addresses and CIDRs', () => {
    const m = compileIpMatcher(['::1', 'fe80::/10', '2001:db8::/32']);
    assert.equal(m('::1'), true);
    assert.equal(m('0:0:0:0:0:0:0:1'), true);
    assert.equal(m('::2'), false);
    assert.equal(m('fe80::1234'), true);
    assert.equal(m('febf:ffff::1'), true);
    assert.equal(m('fec0::1'), false);
    assert.equal(m('2001:db8:ffff::1'), true);
    assert.equal(m('2001:db9::1'), false);
    assert.equal(m('127.0.0.1'), false);
  });

  test('IPv4-mapped IPv6 clients match IPv4 entries', () => {
    const m = compileIpMatcher(['1.2.3.0/24']);
    assert.equal(m('::ffff:1.2.3.4'), true);
    assert.equal(m('::FFFF:1.2.3.4'), true);
    assert.equal(m('::ffff:102:304'), true);
    assert.equal(m('::ffff:1.2.4.4'), false);
    // With IPv6 entries present the full IPv6 form is also considered.
    const both = compileIpMatcher(['1.2.3.0/24', '::ffff:0:0/96']);
    assert.equal(both('::ffff:9.9.9.9'), true);
    assert.equal(both('::ffff:1.2.3.4'), true);
  });

  test('non-addresses never match', () => {
    const m = compileIpMatcher(['0.0.0.0/0', '::/0']);
    for (const bad of ['', 'localhost', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', 'fe80::1%eth0', '::ffff:1.2.3']) {
      assert.equal(m(bad), false, bad);
    }
    assert.equal(m(undefined as unknown as string), false);
  });

  test('bracketed IPv6 is tolerated in lists and clients, as ipmatcher strips the brackets', () => {
    const m = compileIpMatcher(['[::1]', '[fe80::]/10']);
    assert.equal(m('::1'), true);
    assert.equal(m('[::1]'), true);
    assert.equal(m('fe80::9'), true);
    assert.equal(isValidIpOrCidr('[::1]'), false, 'the route schema does not accept brackets');
  });

  test('an empty list matches nothing', () => {
    const m = compileIpMatcher([]);
    assert.equal(m('127.0.0.1'), false);
    assert.equal(m('::1'), false);
  });

  test('invalid entries throw InvalidIpError naming the entry', () => {
    for (const bad of ['1.2.3', '1.2.3.4/33', '::1/129', '1.2.3.4/', 'foo', '1.2.3.4/x', 'fe80::1%eth0']) {
      assert.throws(
        () => compileIpMatcher([bad]),
        (err: unknown) => err instanceof InvalidIpError && err.code === 'ROUTER_INVALID_IP' && err.message === `invalid ip address: ${bad}`,
        bad,
      );
    }
  });
});

describe('isValidIpOrCidr', () => {
  test('accepts addresses and CIDRs of both families', () => {
    for (const ok of ['127.0.0.1', '0.0.0.0/0', '10.0.0.0/8', '::1', '::', 'fe80::/10', '2001:db8::1/128', '::ffff:1.2.3.4']) {
      assert.equal(isValidIpOrCidr(ok), true, ok);
    }
  });

  test('rejects everything else', () => {
    for (const bad of ['', '1.2.3', '256.0.0.1', '1.2.3.4/33', '::1/129', 'a.b.c.d', '1:2:3:4:5:6:7:8:9', '10.0.0.0/-1', ' 1.2.3.4']) {
      assert.equal(isValidIpOrCidr(bad), false, bad);
    }
  });
});
