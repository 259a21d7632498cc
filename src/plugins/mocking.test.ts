/**
 * mocking's checks and access phase on real request contexts: the example
 * body with `$var`, bodies generated from a schema as JSON and XML, status,
 * content type, the mock header, extra headers and the delay.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness, type HarnessRequest } from '../../test/helpers/plugin-harness.js';
import { VERSION } from '../version.js';
import mocking from './mocking.js';

const h = new PluginHarness(mocking);

type MockVerdict = readonly [number, string, Record<string, string | number>];

async function hit(conf: Record<string, unknown>, options: HarnessRequest & { target?: string } = {}) {
  const ctx = h.request(options.target ?? '/x', options);
  const started = performance.now();
  const verdict = (await h.run('access', conf, ctx)) as MockVerdict;
  return { verdict, ms: performance.now() - started };
}

describe('mocking: checks', () => {
  test('response_example or response_schema; defaults as APISIX', () => {
    assert.match(h.check({}) ?? '', /failed to check the configuration of plugin mocking err: object matches none of the required: \["response_example"\] or \["response_schema"\]/);
    const conf = h.conf({ response_example: 'hi' });
    assert.deepEqual(
      [conf.delay, conf.response_status, conf.content_type, conf.with_mock_header],
      [0, 200, 'application/json;charset=utf8', true],
    );
  });

  test('content_type must name a supported media type; statuses HTTP cannot send are refused', () => {
    assert.match(h.check({ response_example: 'x', content_type: 'image/png' }) ?? '', /err: unsupported content type!$/);
    assert.match(h.check({ response_example: 'x', content_type: '' }) ?? '', /unsupported content type!/);
    assert.equal(h.check({ response_example: 'x', content_type: 'text/xml; charset=utf-8' }), undefined);
    assert.match(h.check({ response_example: 'x', response_status: 99 }) ?? '', /property "response_status" validation failed/);
    assert.match(h.check({ response_example: 'x', response_status: 101 }) ?? '', /err: response_status must be between 200 and 599, got 101$/);
    assert.match(h.check({ response_example: 'x', response_headers: { 'X-A': 'a\r\nb' } }) ?? '', /invalid value of header X-A/);
  });
});

describe('mocking: responses', () => {
  test('the example as the body, $var resolved; status, content type and the mock header', async () => {
    const conf = h.conf({ response_status: 201, response_example: '{"a":1,"client":"$remote_addr","id":"$arg_id"}' });
    const { verdict } = await hit(conf, { target: '/x?id=42', remoteAddr: '10.9.8.7' });
    assert.deepEqual(verdict, [201, '{"a":1,"client":"10.9.8.7","id":"42"}', { 'content-type': 'application/json;charset=utf8', 'x-mock-by': `fngate/${VERSION}` }]);
  });

  test('with_mock_header false; response_headers added (and able to replace the defaults)', async () => {
    const conf = h.conf({ response_example: 'ok', content_type: 'text/plain', with_mock_header: false, response_headers: { 'X-Foo': 'bar', 'X-Count': 3 } });
    assert.deepEqual((await hit(conf)).verdict[2], { 'content-type': 'text/plain', 'x-foo': 'bar', 'x-count': 3 });
    const replaced = h.conf({ response_example: 'ok', response_headers: { 'X-Mock-By': 'someone' } });
    assert.equal((await hit(replaced)).verdict[2]['x-mock-by'], 'someone');
  });

  test('a schema gives JSON for application/json and text/plain, generated anew per request', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer', example: 7 }, name: { type: 'string' } } };
    const json = await hit(h.conf({ response_schema: schema }));
    const body = JSON.parse(json.verdict[1]) as { id: number; name: string };
    assert.equal(body.id, 7);
    assert.match(body.name, /^[a-z]{1,10}$/);
    const names = new Set<string>();
    const plain = h.conf({ response_schema: schema, content_type: 'text/plain' });
    for (let i = 0; i < 20; i++) names.add((JSON.parse((await hit(plain)).verdict[1]) as { name: string }).name);
    assert.ok(names.size > 1, 'random values differ between requests');
  });

  test('a schema gives XML under <data> for application/xml and text/xml; an example wins over a schema', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer', example: 7 }, tags: { type: 'array', items: { type: 'string', example: 'x' }, minItems: 2, maxItems: 2 } } };
    const xml = await hit(h.conf({ response_schema: schema, content_type: 'application/xml' }));
    assert.equal(xml.verdict[1], '<data>\n  <id>7</id>\n  <tags>x</tags>\n  <tags>x</tags>\n</data>\n');
    assert.equal(xml.verdict[2]['content-type'], 'application/xml');
    assert.equal((await hit(h.conf({ response_schema: schema, response_example: 'fixed' }))).verdict[1], 'fixed');
  });

  test('text/html with a schema: an empty body, as APISIX (it only writes JSON and XML)', async () => {
    assert.equal((await hit(h.conf({ response_schema: { type: 'object' }, content_type: 'text/html' }))).verdict[1], '');
  });

  test('delay: the answer comes after the given seconds', async () => {
    const { verdict, ms } = await hit(h.conf({ response_example: 'late', delay: 1 }));
    assert.equal(verdict[1], 'late');
    assert.ok(ms >= 900, `waited about 1 s, took ${ms} ms`);
  });
});
