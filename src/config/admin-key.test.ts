import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { ADMIN_KEY_FILE, resolveAdminKeys } from './admin-key.js';
import { AdminKeyFileError } from './errors.js';
import { parseConfig } from './load.js';
import type { FngateConfig } from './types.js';

interface LogLine {
  level: number;
  msg: string;
}

function capturingLogger(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines, raw };
}

const WARN = 40;

describe('resolveAdminKeys', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fngate-admin-key-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A config loaded from `<fresh dir>/config.yaml`, so data_dir is `<fresh dir>/data`. */
  function configWith(yaml: string): FngateConfig {
    n += 1;
    return parseConfig(yaml, { file: join(root, `case-${n}`, 'config.yaml'), env: {} }).config;
  }

  test('generates a strong key once, stores it with mode 0600 in a 0700 directory, and reuses it', async () => {
    const config = configWith('');
    const first = capturingLogger();
    const generatedRun = await resolveAdminKeys(config, first.logger);

    const key = generatedRun.generated;
    assert.ok(key !== undefined);
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(generatedRun.config.deployment.admin.admin_key, [{ name: 'admin', key, role: 'admin' }]);
    assert.ok(Object.isFrozen(generatedRun.config.deployment.admin.admin_key));

    const file = join(config.fngate.data_dir, ADMIN_KEY_FILE);
    assert.equal(await readFile(file, 'utf8'), `${key}\n`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(config.fngate.data_dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(config.fngate.data_dir), [ADMIN_KEY_FILE], 'no temporary file left behind');
    assert.ok(!first.raw.some((line) => line.includes(key)), 'the key never reaches a log line');

    const second = await resolveAdminKeys(config, capturingLogger().logger);
    assert.equal(second.generated, undefined, 'a later start does not print the key again');
    assert.deepEqual(second.config.deployment.admin.admin_key, [{ name: 'admin', key, role: 'admin' }]);
  });

  test('each data directory gets its own random key', async () => {
    const a = await resolveAdminKeys(configWith(''), capturingLogger().logger);
    const b = await resolveAdminKeys(configWith(''), capturingLogger().logger);
    assert.ok(a.generated && b.generated);
    assert.notEqual(a.generated, b.generated);
  });

  test('admin_key: ~ and an empty list also get the generated key', async () => {
    for (const yaml of ['deployment:\n  admin:\n    admin_key: ~\n', 'deployment:\n  admin:\n    admin_key: []\n']) {
      const { config, generated } = await resolveAdminKeys(configWith(yaml), capturingLogger().logger);
      assert.ok(generated !== undefined);
      assert.deepEqual(config.deployment.admin.admin_key, [{ name: 'admin', key: generated, role: 'admin' }]);
    }
  });

  test('a configured key is used as it is and nothing is written', async () => {
    const config = configWith(`
deployment:
  admin:
    admin_key:
      - {name: ops, key: 0123456789abcdef0123456789abcdef, role: admin}
      - {name: ro, key: fedcba9876543210fedcba9876543210, role: viewer}
`);
    const { config: resolved, generated } = await resolveAdminKeys(config, capturingLogger().logger);
    assert.equal(generated, undefined);
    assert.deepEqual(resolved.deployment.admin.admin_key, config.deployment.admin.admin_key);
    await assert.rejects(stat(config.fngate.data_dir), { code: 'ENOENT' });
  });

  test('an empty admin entry beside configured keys gets the generated key, keeping the order', async () => {
    const config = configWith(`
deployment:
  admin:
    admin_key:
      - {name: ro, key: fedcba9876543210fedcba9876543210, role: viewer}
      - {name: root, key: '', role: admin}
`);
    const { config: resolved, generated } = await resolveAdminKeys(config, capturingLogger().logger);
    assert.ok(generated !== undefined);
    assert.deepEqual(resolved.deployment.admin.admin_key, [
      { name: 'ro', key: 'fedcba9876543210fedcba9876543210', role: 'viewer' },
      { name: 'root', key: generated, role: 'admin' },
    ]);
  });

  test('viewer entries and further admin entries without a key are dropped with a warning', async () => {
    const config = configWith(`
deployment:
  admin:
    admin_key:
      - {name: admin, key: '', role: admin}
      - {name: second, key: '', role: admin}
      - {name: viewer, key: '', role: viewer}
`);
    const { logger, lines } = capturingLogger();
    const { config: resolved, generated } = await resolveAdminKeys(config, logger);
    assert.deepEqual(resolved.deployment.admin.admin_key, [{ name: 'admin', key: generated, role: 'admin' }]);
    const warnings = lines.filter((line) => line.level === WARN).map((line) => line.msg);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /"second" has no key and is ignored/);
    assert.match(warnings[1] ?? '', /"viewer" \(role viewer\) has no key and is ignored/);
  });

  test("APISIX's published example keys work but are warned about", async () => {
    const config = configWith(`
deployment:
  admin:
    admin_key:
      - {name: admin, key: edd1c9f034335f136f87ad84b625c8f1, role: admin}
`);
    const { logger, lines } = capturingLogger();
    const { config: resolved } = await resolveAdminKeys(config, logger);
    assert.equal(resolved.deployment.admin.admin_key[0]?.key, 'edd1c9f034335f136f87ad84b625c8f1');
    assert.ok(lines.some((line) => line.level === WARN && /published in APISIX's documentation/.test(line.msg)));
  });

  test('with the Admin API disabled nothing is generated or written', async () => {
    const config = configWith('deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n');
    const { config: resolved, generated } = await resolveAdminKeys(config, capturingLogger().logger);
    assert.equal(generated, undefined);
    assert.deepEqual(resolved.deployment.admin.admin_key, []);
    await assert.rejects(stat(config.fngate.data_dir), { code: 'ENOENT' });
  });

  test('concurrent first starts agree on one key', async () => {
    const config = configWith('');
    const results = await Promise.all([1, 2, 3, 4].map(() => resolveAdminKeys(config, capturingLogger().logger)));
    const keys = new Set(results.map((result) => result.config.deployment.admin.admin_key[0]?.key));
    assert.equal(keys.size, 1);
    assert.equal(results.filter((result) => result.generated !== undefined).length, 1, 'exactly one start prints the key');
    assert.equal((await readFile(join(config.fngate.data_dir, ADMIN_KEY_FILE), 'utf8')).trim(), [...keys][0]);
  });

  test('a damaged key file stops the start instead of being replaced', async () => {
    const config = configWith('');
    await resolveAdminKeys(config, capturingLogger().logger);
    const file = join(config.fngate.data_dir, ADMIN_KEY_FILE);
    await writeFile(file, '\n');
    await assert.rejects(resolveAdminKeys(config, capturingLogger().logger), (err: unknown) => {
      assert.ok(err instanceof AdminKeyFileError);
      assert.equal(err.code, 'ADMIN_KEY_FILE_INVALID');
      assert.match(err.message, /does not hold a usable key/);
      return true;
    });
  });

  test('a key file readable by others is used, with a warning', async () => {
    const config = configWith('');
    const { generated } = await resolveAdminKeys(config, capturingLogger().logger);
    const file = join(config.fngate.data_dir, ADMIN_KEY_FILE);
    await chmod(file, 0o644);
    const { logger, lines } = capturingLogger();
    const { config: resolved } = await resolveAdminKeys(config, logger);
    assert.equal(resolved.deployment.admin.admin_key[0]?.key, generated);
    assert.ok(lines.some((line) => line.level === WARN && /readable by other users/.test(line.msg)));
  });
});
