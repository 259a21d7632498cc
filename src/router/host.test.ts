import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareHostSpecificity, compileHostCondition, HostIndex, hostMatches, parseHostPattern } from './host.js';
import type { VarGetter } from './types.js';

const noVars: VarGetter = () => undefined;

describe('host patterns', () => {
  test('exact, leading-* suffix and * alone (spec/routing.md §3.3)', () => {
    const cases: Array<[string, string, boolean]> = [
      ['foo.com', 'foo.com', true],
      ['foo.com', 'a.foo.com', false],
      ['*.foo.com', 'a.foo.com', true],
      ['*.foo.com', 'a.b.foo.com', true],
      ['*.foo.com', 'foo.com', false],
      ['*foo.com', 'foo.com', true],
      ['*foo.com', 'xfoo.com', true],
      ['*foo.com', 'foo.co', false],
      ['*', 'anything.example', true],
      ['*', '', true],
    ];
    for (const [pattern, host, expected] of cases) {
      assert.equal(hostMatches(parseHostPattern(pattern), host), expected, `${pattern} vs ${host}`);
    }
  });

  test('specificity: exact first, then the longer suffix', () => {
    const sorted = ['*', '*.foo.com', 'a.foo.com', '*foo.com', '*.b.foo.com']
      .map(parseHostPattern)
      .sort(compareHostSpecificity)
      .map((p) => p.pattern);
    assert.deepEqual(sorted, ['a.foo.com', '*.b.foo.com', '*.foo.com', '*foo.com', '*']);
  });
});

describe('compileHostCondition (radixtree_uri)', () => {
  test('reports the pattern for wildcards and the request host for exact entries', () => {
    const cond = compileHostCondition(['bar.com', '*.foo.com']);
    assert.equal(cond('a.foo.com', noVars), '*.foo.com');
    assert.equal(cond('bar.com', noVars), 'bar.com');
    assert.equal(cond('foo.com', noVars), undefined);
  });

  test('entries with a port are compared with the raw Host header', () => {
    const cond = compileHostCondition(['foo.com:8080']);
    const vars = (h: string): VarGetter => (name) => (name === 'http_host' ? h : undefined);
    assert.equal(cond('foo.com', vars('foo.com:8080')), 'foo.com');
    assert.equal(cond('foo.com', vars('foo.com:9090')), undefined);
    assert.equal(cond('foo.com', noVars), undefined);
  });
});

describe('HostIndex (radixtree_host_uri)', () => {
  test('exact entry, then wildcards from the longest suffix to *', () => {
    const index = new HostIndex<string>();
    for (const p of ['*', '*.foo.com', 'a.foo.com', '*foo.com', '*.a.foo.com', 'other.com']) {
      index.upsert(parseHostPattern(p), () => p);
    }
    index.seal();
    const order = (host: string): string[] => {
      const out: string[] = [];
      const exact = index.exactEntry(host);
      if (exact !== undefined) out.push(exact);
      for (let w = index.longestWildcard(host); w; w = w.shorter) out.push(w.value.pattern);
      return out;
    };
    assert.deepEqual(order('a.foo.com'), ['a.foo.com', '*.foo.com', '*foo.com', '*']);
    assert.deepEqual(order('x.a.foo.com'), ['*.a.foo.com', '*.foo.com', '*foo.com', '*']);
    assert.deepEqual(order('foo.com'), ['*foo.com', '*']);
    assert.deepEqual(order('bar.org'), ['*']);
    assert.equal(index.size, 6);
  });

  test('upsert shares one value per pattern', () => {
    const index = new HostIndex<string[]>();
    index.upsert(parseHostPattern('*.a.com'), () => []).push('r1');
    index.upsert(parseHostPattern('*.a.com'), () => []).push('r2');
    index.seal();
    assert.deepEqual(index.longestWildcard('x.a.com')?.value.value, ['r1', 'r2']);
    assert.equal(index.longestWildcard('a.com'), undefined);
  });
});
