import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  test('nginx time units become seconds', () => {
    assert.equal(parseDuration('60s'), 60);
    assert.equal(parseDuration('1m'), 60);
    assert.equal(parseDuration('240s'), 240);
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('1d'), 86_400);
    assert.equal(parseDuration('500ms'), 0.5);
    assert.equal(parseDuration('1h 30m'), 5400);
    assert.equal(parseDuration('1m30s'), 90);
  });

  test('a bare number means seconds', () => {
    assert.equal(parseDuration('30'), 30);
    assert.equal(parseDuration(45), 45);
    assert.equal(parseDuration(0), 0);
  });

  test('anything else is not a duration', () => {
    assert.equal(parseDuration('1x'), undefined);
    assert.equal(parseDuration('s'), undefined);
    assert.equal(parseDuration(''), undefined);
    assert.equal(parseDuration(-1), undefined);
  });
});

describe('parseSize', () => {
  test('k, m and g are binary multiples, any case', () => {
    assert.equal(parseSize('8k'), 8192);
    assert.equal(parseSize('1m'), 1_048_576);
    assert.equal(parseSize('1M'), 1_048_576);
    assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  });

  test('a bare number means bytes, and 0 stays 0 (unlimited)', () => {
    assert.equal(parseSize('512'), 512);
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize(1024), 1024);
  });

  test('anything else is not a size', () => {
    assert.equal(parseSize('1t'), undefined);
    assert.equal(parseSize('1.5m'), undefined);
    assert.equal(parseSize(1.5), undefined);
  });
});
