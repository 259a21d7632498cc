/**
 * Values generated from JSON schemas (mocking's response_schema) and their
 * XML form: APISIX's rules (types, examples, array sizes, letters), plus
 * enums, const, formats, bounds, inferred and combined schemas.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleFromSchema } from './sample.js';
import { toXml } from './xml.js';

/** A deterministic random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('sampleFromSchema', () => {
  test("APISIX's documented example: examples where given, random values of the right type elsewhere", () => {
    const schema = {
      type: 'object',
      properties: {
        field0: { example: 'abcd', type: 'string' },
        field1: { example: 123.12, type: 'number' },
        field3: {
          type: 'object',
          properties: {
            field3_1: { type: 'string' },
            field3_2: { type: 'object', properties: { field3_2_1: { example: true, type: 'boolean' }, field3_2_2: { items: { example: 155.55, type: 'integer' }, type: 'array' } } },
          },
        },
        field2: { items: { type: 'string' }, type: 'array' },
      },
    };
    interface Generated {
      field0: string;
      field1: number;
      field2: string[];
      field3: { field3_1: string; field3_2: { field3_2_1: boolean; field3_2_2: number[] } };
    }
    for (let seed = 1; seed <= 50; seed++) {
      const value = sampleFromSchema(schema, seeded(seed)) as Generated;
      assert.equal(value.field0, 'abcd');
      assert.equal(value.field1, 123.12);
      assert.match(value.field3.field3_1, /^[a-z]{1,10}$/);
      assert.equal(value.field3.field3_2.field3_2_1, true);
      assert.ok(value.field3.field3_2.field3_2_2.length >= 1 && value.field3.field3_2.field3_2_2.length <= 3);
      for (const n of value.field3.field3_2.field3_2_2) assert.equal(n, 155, 'an integer example is floored');
      for (const s of value.field2) assert.match(s, /^[a-z]{1,10}$/);
    }
  });

  test('random scalars stay in APISIX ranges unless the schema bounds them', () => {
    const random = seeded(7);
    for (let i = 0; i < 200; i++) {
      const n = sampleFromSchema({ type: 'number' }, random) as number;
      assert.ok(n >= 0 && n < 10_000, String(n));
      const k = sampleFromSchema({ type: 'integer' }, random) as number;
      assert.ok(Number.isInteger(k) && k >= 1 && k <= 10_000, String(k));
      const bounded = sampleFromSchema({ type: 'integer', minimum: 5, maximum: 7 }, random) as number;
      assert.ok(bounded >= 5 && bounded <= 7, String(bounded));
      const s = sampleFromSchema({ type: 'string', minLength: 12, maxLength: 14 }, random) as string;
      assert.ok(s.length >= 12 && s.length <= 14, s);
      assert.equal(typeof sampleFromSchema({ type: 'Boolean' }, random), 'boolean', 'type names are case-insensitive');
    }
  });

  test('enum, const, formats, nullable types, minItems', () => {
    const random = seeded(3);
    assert.ok(['red', 'green'].includes(sampleFromSchema({ type: 'string', enum: ['red', 'green'] }, random) as string));
    assert.equal(sampleFromSchema({ const: 42 }, random), 42);
    assert.match(sampleFromSchema({ type: 'string', format: 'uuid' }, random) as string, /^[0-9a-f-]{36}$/);
    assert.match(sampleFromSchema({ type: 'string', format: 'email' }, random) as string, /^[a-z]+@example\.com$/);
    assert.ok(!Number.isNaN(Date.parse(sampleFromSchema({ type: 'string', format: 'date-time' }, random) as string)));
    assert.match(sampleFromSchema({ type: 'string', format: 'ipv4' }, random) as string, /^192\.0\.2\.\d+$/);
    assert.equal(typeof sampleFromSchema({ type: ['null', 'string'] }, random), 'string');
    assert.equal((sampleFromSchema({ type: 'array', items: { type: 'integer' }, minItems: 5 }, random) as unknown[]).length, 5);
  });

  test('inferred and combined schemas; what cannot be generated is left out', () => {
    const random = seeded(11);
    const inferred = sampleFromSchema({ properties: { tags: { items: { type: 'string' } } } }, random) as { tags: string[] };
    assert.ok(Array.isArray(inferred.tags));
    assert.equal(typeof sampleFromSchema({ oneOf: [{ type: 'integer' }, { type: 'string' }] }, random), 'number');
    const merged = sampleFromSchema({ allOf: [{ properties: { a: { const: 1 } } }, { properties: { b: { const: 2 } } }] }, random);
    assert.deepEqual(merged, { a: 1, b: 2 });
    const partial = sampleFromSchema({ type: 'object', properties: { known: { const: 'k' }, unknown: { $ref: '#/x' }, list: { type: 'array' } } }, random);
    assert.equal(JSON.stringify(partial), '{"known":"k"}');
  });
});

describe('toXml', () => {
  test('one element per key under the root; arrays repeat their element; text escaped', () => {
    assert.equal(
      toXml({ id: 1, name: 'a<b', tags: ['x', 'y'], owner: { ok: true } }, 'data'),
      '<data>\n  <id>1</id>\n  <name>a&lt;b</name>\n  <tags>x</tags>\n  <tags>y</tags>\n  <owner>\n    <ok>true</ok>\n  </owner>\n</data>\n',
    );
    assert.equal(toXml([1, 2], 'data'), '<data>\n  <item>1</item>\n  <item>2</item>\n</data>\n');
    assert.equal(toXml('plain', 'data'), '<data>plain</data>\n');
  });
});
