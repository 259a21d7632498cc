import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closestName } from './suggest.js';

describe('closestName', () => {
  const known = ['admin_key', 'admin_key_required', 'allow_admin', 'admin_listen', 'enable_admin_cors'];

  test('finds a sibling one or two edits away, including swapped letters', () => {
    assert.equal(closestName('admin_keys', known), 'admin_key');
    assert.equal(closestName('alow_admin', known), 'allow_admin');
    assert.equal(closestName('enable_admin_cros', known), 'enable_admin_cors');
    assert.equal(closestName('admin_listne', known), 'admin_listen');
  });

  test('ignores case and dash/underscore differences', () => {
    assert.equal(closestName('Admin-Listen', known), 'admin_listen');
  });

  test('suggests nothing when no sibling is close', () => {
    assert.equal(closestName('frobnicate', known), undefined);
    assert.equal(closestName('ab', ['xy']), undefined);
  });
});
