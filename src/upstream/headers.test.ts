import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUpstreamHeaders, forwardedPort, requestHasBody, toResponseHeaders, type DownstreamInfo } from './headers.js';

const downstream: DownstreamInfo = { remoteAddr: '10.0.0.7', scheme: 'http', host: 'api.example:9080', serverPort: 9080 };

function pairs(list: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

function get(list: readonly string[], name: string): string[] {
  return pairs(list).filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

describe('buildUpstreamHeaders', () => {
  test('copies end-to-end fields in order and spelling; drops Host, Expect and hop-by-hop fields', () => {
    const out = buildUpstreamHeaders([
      'Host', 'api.example:9080',
      'User-Agent', 'curl/8',
      'Connection', 'keep-alive, X-Hop',
      'X-Hop', 'secret',
      'Keep-Alive', 'timeout=5',
      'TE', 'trailers',
      'Trailer', 'X-T',
      'Transfer-Encoding', 'chunked',
      'Upgrade', 'h2c',
      'Proxy-Connection', 'keep-alive',
      'Expect', '100-continue',
      'accept', '*/*',
      'X-Real-IP', 'spoofed',
    ], downstream, {});
    assert.deepEqual(pairs(out), [
      ['User-Agent', 'curl/8'],
      ['accept', '*/*'],
      ['X-Real-IP', '10.0.0.7'],
      ['X-Forwarded-For', '10.0.0.7'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'api.example:9080'],
      ['X-Forwarded-Port', '9080'],
    ]);
  });

  test('WebSocket keeps Upgrade and Connection', () => {
    const out = buildUpstreamHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], downstream, { websocket: true });
    assert.deepEqual(get(out, 'connection'), ['Upgrade']);
    assert.deepEqual(get(out, 'upgrade'), ['websocket']);
    assert.deepEqual(get(out, 'sec-websocket-key'), ['k']);
  });

  test('X-Forwarded-For: the client chain is kept without trusted_addresses, joined across repeated fields', () => {
    const out = buildUpstreamHeaders(['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'], downstream, {});
    assert.deepEqual(get(out, 'x-forwarded-for'), ['1.1.1.1, 2.2.2.2, 10.0.0.7']);
  });

  test('trusted_addresses: an untrusted peer loses its chain and X-Forwarded-*; a trusted one keeps them', () => {
    const raw = ['X-Forwarded-For', '1.1.1.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'public.example',
      'X-Forwarded-Port', '443', 'Forwarded', 'for=1.1.1.1'];
    const untrusted = buildUpstreamHeaders(raw, { ...downstream, peerAddr: '192.0.2.1' }, { trusted: (ip) => ip === '10.0.0.1' });
    assert.deepEqual(get(untrusted, 'x-forwarded-for'), ['10.0.0.7']);
    assert.deepEqual(get(untrusted, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(get(untrusted, 'x-forwarded-host'), ['api.example:9080']);
    assert.deepEqual(get(untrusted, 'x-forwarded-port'), ['9080']);
    assert.deepEqual(get(untrusted, 'forwarded'), []);

    const trusted = buildUpstreamHeaders(raw, { ...downstream, peerAddr: '10.0.0.1' }, { trusted: (ip) => ip === '10.0.0.1' });
    assert.deepEqual(get(trusted, 'x-forwarded-for'), ['1.1.1.1, 10.0.0.7']);
    assert.deepEqual(get(trusted, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(get(trusted, 'x-forwarded-host'), ['public.example']);
    assert.deepEqual(get(trusted, 'x-forwarded-port'), ['443']);
    assert.deepEqual(get(trusted, 'forwarded'), ['for=1.1.1.1']);
  });

  test('a trusted peer that omits X-Forwarded-* gets the observed values', () => {
    const out = buildUpstreamHeaders([], { ...downstream, scheme: 'https', host: 'Example.COM:8443' }, { trusted: () => true });
    assert.deepEqual(get(out, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(get(out, 'x-forwarded-host'), ['Example.COM:8443']);
    assert.deepEqual(get(out, 'x-forwarded-port'), ['8443']);
  });

  test('no Host header: no X-Forwarded-Host, the listener port', () => {
    const out = buildUpstreamHeaders([], { ...downstream, host: '' }, {});
    assert.deepEqual(get(out, 'x-forwarded-host'), []);
    assert.deepEqual(get(out, 'x-forwarded-port'), ['9080']);
  });
});

describe('forwardedPort', () => {
  test('the Host header port, else the listener port (IPv6 aware)', () => {
    assert.equal(forwardedPort('a.example:8443', 9080), '8443');
    assert.equal(forwardedPort('a.example', 9080), '9080');
    assert.equal(forwardedPort('[::1]:8080', 9080), '8080');
    assert.equal(forwardedPort('[::1]', 9080), '9080');
    assert.equal(forwardedPort('a.example:', 9080), '9080');
  });
});

describe('requestHasBody', () => {
  test('Content-Length > 0 or any Transfer-Encoding', () => {
    assert.equal(requestHasBody(['Host', 'x']), false);
    assert.equal(requestHasBody(['Content-Length', '0']), false);
    assert.equal(requestHasBody(['content-length', '12']), true);
    assert.equal(requestHasBody(['Transfer-Encoding', 'chunked']), true);
  });
});

describe('toResponseHeaders', () => {
  const raw = (...fields: string[]): string[] => fields;

  test('lower-cases names, keeps repeated fields apart, drops hop-by-hop and Connection-listed fields', () => {
    const headers = toResponseHeaders(raw(
      'Content-Type', 'text/plain',
      'Set-Cookie', 'a=1',
      'Set-Cookie', 'b=2',
      'Connection', 'keep-alive, X-Internal',
      'X-Internal', 'secret',
      'Keep-Alive', 'timeout=5',
      'Transfer-Encoding', 'chunked',
      'Upgrade', 'h2c',
      'X-Bytes', 'caf\u00e9',
    ));
    assert.deepEqual({ ...headers }, {
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
      'x-bytes': 'caf\u00e9',
    });
  });

  test('keepUpgrade keeps Connection and Upgrade for a 101', () => {
    const headers = toResponseHeaders(raw('Connection', 'Upgrade', 'Upgrade', 'websocket'), true);
    assert.deepEqual({ ...headers }, { connection: 'Upgrade', upgrade: 'websocket' });
  });

  test('fields named like Object members are ordinary keys', () => {
    const headers = toResponseHeaders(raw('__proto__', 'x', '__proto__', 'y', 'constructor', 'c', 'toString', 't'));
    assert.deepEqual(Object.keys(headers), ['__proto__', 'constructor', 'tostring']);
    assert.deepEqual(headers['__proto__'], ['x', 'y']);
    assert.equal(headers['constructor'], 'c');
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  });
});
