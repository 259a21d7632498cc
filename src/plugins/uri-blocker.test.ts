/**
 * uri-blocker's checks and rewrite phase: rules found anywhere in the
 * normalised URI and its query, case handling, the rejection verdicts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginHarness } from '../../test/helpers/plugin-harness.js';
import uriBlocker from './uri-blocker.js';

const h = new PluginHarness(uriBlocker);

function rewrite(conf: Record<string, unknown>, target: string): Promise<unknown> {
  return h.run('rewrite', conf, h.request(target));
}

describe('uri-blocker: checks', () => {
  test('block_rules is required; rules are unique, non-empty strings; defaults are APISIX\'s', () => {
    assert.equal(h.check({}), 'failed to check the configuration of plugin uri-blocker err: property "block_rules" is required');
    assert.match(h.check({ block_rules: ['a', 'a'] }) ?? '', /expected unique items but items 1 and 2 are equal/);
    assert.match(h.check({ block_rules: [''] }) ?? '', /string too short, expected at least 1, got 0/);
    assert.deepEqual(h.conf({ block_rules: ['x'] }), { block_rules: ['x'], rejected_code: 403, case_insensitive: false });
  });

  test('a rule that does not compile is refused with the compiler\'s reason', () => {
    assert.match(h.check({ block_rules: ['ok', '.+('] }) ?? '', /^failed to check the configuration of plugin uri-blocker err: pcre_compile\(\) failed: .+ in "\.\+\("$/);
  });

  test('rejected_code from 200 to 999; rejected_msg not empty', () => {
    assert.match(h.check({ block_rules: ['x'], rejected_code: 199 }) ?? '', /expected 199 to be at least 200/);
    assert.match(h.check({ block_rules: ['x'], rejected_code: 1000 }) ?? '', /rejected_code must be at most 999/);
    assert.match(h.check({ block_rules: ['x'], rejected_msg: '' }) ?? '', /property "rejected_msg" validation failed: string too short/);
  });
});

describe('uri-blocker: rewrite', () => {
  test('a rule found anywhere in the path or the query blocks with 403 and nginx\'s page', async () => {
    const conf = h.conf({ block_rules: ['root.exe', 'root.m+'] });
    assert.equal(await rewrite(conf, '/root.exe'), 403);
    assert.equal(await rewrite(conf, '/a/root.mmm/b'), 403);
    assert.equal(await rewrite(conf, '/download?file=root.exe'), 403, 'the query is part of the subject');
    assert.equal(await rewrite(conf, '/root.ex'), undefined);
    assert.equal(await rewrite(conf, '/ROOT.EXE'), undefined, 'case-sensitive by default');
  });

  test('the path is matched decoded, as $request_uri is after normalisation', async () => {
    const conf = h.conf({ block_rules: ['^/admin/'] });
    assert.equal(await rewrite(conf, '/%61dmin/users'), 403);
  });

  test('case_insensitive ignores case', async () => {
    const conf = h.conf({ block_rules: ['\\.git/'], case_insensitive: true });
    assert.equal(await rewrite(conf, '/repo/.GIT/config'), 403);
  });

  test('rejected_msg answers {"error_msg": ...} with rejected_code', async () => {
    const conf = h.conf({ block_rules: ['secret'], rejected_code: 410, rejected_msg: 'access is not allowed' });
    assert.deepEqual(await rewrite(conf, '/secret'), [410, { error_msg: 'access is not allowed' }]);
  });

  test('PCRE spellings work (inline options, \\Q..\\E)', async () => {
    assert.equal(await rewrite(h.conf({ block_rules: ['(?i)^/PRIVATE'] }), '/private/x'), 403);
    assert.equal(await rewrite(h.conf({ block_rules: ['\\Q/a+b\\E'] }), '/a+b'), 403);
  });

  test('an empty rule list blocks everything, as APISIX\'s empty joined pattern does', async () => {
    assert.equal(await rewrite(h.conf({ block_rules: [] }), '/anything'), 403);
  });
});
