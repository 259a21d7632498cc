import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CounterCell, SeriesTable } from './series-table.js';

test('a reused label array finds the same series, and new values make new ones', () => {
  const table = new SeriesTable(3, () => new CounterCell());
  const key = ['200', 'r1', ''];
  table.at(key).value += 1;
  table.at(key).value += 1;
  key[1] = 'r2';
  table.at(key).value += 1;
  key[1] = 'r1';
  table.at(key).value += 1;
  assert.deepEqual(table.rows().map(({ labels, cell }) => [labels, cell.value]), [
    [['200', 'r1', ''], 3],
    [['200', 'r2', ''], 1],
  ]);
});

test('equal label values from different strings are one series; the stored labels never follow the caller array', () => {
  const table = new SeriesTable(2, () => new CounterCell());
  const built = (s: string) => [s, 'x'].join('').slice(0, s.length);
  const key = [built('200'), 'a'];
  table.at(key).value += 1;
  key[0] = built('200');
  table.at(key).value += 1;
  key[0] = '404';
  table.at(key).value += 1;
  key[0] = '200';
  key[1] = 'b';
  table.at(key).value += 1;
  assert.deepEqual(table.rows().map(({ labels, cell }) => [labels, cell.value]), [
    [['200', 'a'], 2],
    [['404', 'a'], 1],
    [['200', 'b'], 1],
  ]);
  assert.equal(table.size, 3);
});

test('only the first `depth` values are labels', () => {
  const table = new SeriesTable(1, () => new CounterCell());
  table.at(['only', 'ignored']).value += 1;
  table.at(['only', 'other']).value += 1;
  assert.deepEqual(table.rows().map(({ labels, cell }) => [labels, cell.value]), [[['only'], 2]]);
});
