/**
 * The embedded store on disk: acknowledged writes survive SIGKILL, a torn
 * log tail is repaired, corruption in the middle is refused, compaction keeps
 * data and revisions, leases use wall-clock time across restarts, and the
 * directory lock keeps a second process out.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeFrame, scanFrames } from '../../src/store/embedded/frame.js';
import { StoreLockedError } from '../../src/store/embedded/lock.js';
import { encodeChange } from '../../src/store/embedded/records.js';
import { openEmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded/store.js';
import { StoreCorruptError, type WatchEvent } from '../../src/store/types.js';

const WRITER = fileURLToPath(new URL('../fixtures/store-writer.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fngate-embedded-'));
  try {
    await body(join(dir, 'data'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens, runs `body`, and always closes. */
async function withStore(options: EmbeddedStoreOptions, body: (store: Awaited<ReturnType<typeof openEmbeddedStore>>) => Promise<void>): Promise<void> {
  const store = await openEmbeddedStore(options);
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('wal-')).sort();
}

async function onlyWal(dir: string): Promise<string> {
  const logs = await walFiles(dir);
  assert.equal(logs.length, 1, `expected one log, found ${logs.join(', ')}`);
  return join(dir, logs[0] as string);
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Writer {
  readonly child: ChildProcess;
  readonly acks: Map<string, number>;
  readonly ready: Promise<number>;
  readonly exited: Promise<void>;
}

/** Starts the fixture writer; `acks` fills as it prints acknowledgements. */
function startWriter(dir: string, keyPrefix: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, keyPrefix], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const acks = new Map<string, number>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const [kind, key, revision] = line.split(' ');
      if (kind === 'ready') resolve(Number(key));
      else if (kind === 'ack' && key && revision) acks.set(key, Number(revision));
    });
  });
  ready.catch(() => undefined);
  return { child, acks, ready, exited };
}

/** Runs the writer until it has `count` acks, then SIGKILLs it and waits until it is reaped. */
async function crashWriterAfter(dir: string, keyPrefix: string, count: number): Promise<Map<string, number>> {
  const writer = startWriter(dir, keyPrefix);
  try {
    await writer.ready;
    await until(() => writer.acks.size >= count, `${count} acknowledged writes`, 30_000);
  } finally {
    writer.child.kill('SIGKILL');
    await writer.exited;
  }
  return new Map(writer.acks);
}

describe('EmbeddedStore durability', () => {
  test('every acknowledged write survives SIGKILL, and recovery repeats over the same directory', { timeout: 90_000 }, () =>
    withDir(async (dir) => {
      const verify = async (acked: Map<string, number>): Promise<number> => {
        let revision = 0;
        await withStore({ dir }, async (store) => {
          revision = await store.revision();
          for (const [key, ackedRevision] of acked) {
            const kv = await store.get(key);
            assert.ok(kv, `acknowledged write ${key} @${ackedRevision} was lost`);
            assert.equal(kv.modRevision, ackedRevision, key);
            assert.equal((JSON.parse(kv.value) as { key: string }).key, key);
          }
          assert.ok(revision >= Math.max(...acked.values()), 'revision went backwards');
        });
        return revision;
      };

      const first = await crashWriterAfter(dir, '/apisix/routes/first-', 200);
      const afterFirst = await verify(first);

      const second = await crashWriterAfter(dir, '/apisix/routes/second-', 200);
      assert.ok(Math.min(...second.values()) > afterFirst, 'revisions restarted below the recovered revision');
      await verify(new Map([...first, ...second]));
    }));

  for (const [name, tail] of [
    ['half a record', encodeFrame(encodeChange({ op: 'put', revision: 5, key: '/apisix/routes/torn', value: 'x'.repeat(64) })).subarray(0, 40)],
    ['garbage bytes', Buffer.from('\u0000\u0013garbage that is no frame at all')],
    ['a header promising more bytes than exist', Buffer.from([0x46, 0x4e, 0x47, 0x31, 0, 0, 1, 0, 1, 2, 3, 4, 5])],
  ] as const) {
    test(`a torn tail (${name}) is truncated with the earlier records intact, and the store stays writable`, () =>
      withDir(async (dir) => {
        await withStore({ dir }, async (store) => {
          for (let i = 1; i <= 3; i++) await store.put(`/apisix/routes/${i}`, `v${i}`);
        });
        const wal = await onlyWal(dir);
        const cleanSize = (await stat(wal)).size;
        await appendFile(wal, tail);

        await withStore({ dir }, async (store) => {
          assert.equal((await stat(wal)).size, cleanSize, 'tail not truncated');
          assert.deepEqual((await store.range('/apisix/routes/')).kvs.map((kv) => kv.value), ['v1', 'v2', 'v3']);
          assert.equal(await store.revision(), 4);
          assert.equal((await store.put('/apisix/routes/4', 'v4')).revision, 5);
        });
        await withStore({ dir }, async (store) => {
          assert.deepEqual((await store.range('/apisix/routes/')).kvs.map((kv) => kv.value), ['v1', 'v2', 'v3', 'v4']);
        });
      }));
  }

  test('a damaged record followed by valid ones refuses to open, naming the file and offset', () =>
    withDir(async (dir) => {
      await withStore({ dir }, async (store) => {
        for (let i = 1; i <= 5; i++) await store.put(`/apisix/routes/${i}`, `value-${i}`);
      });
      const wal = await onlyWal(dir);
      const bytes = await readFile(wal);
      const second = scanFrames(bytes).frames[1];
      assert.ok(second);
      const flipAt = second.offset + 20; // inside the payload
      bytes[flipAt] = (bytes[flipAt] as number) ^ 0xff;
      await writeFile(wal, bytes);

      await assert.rejects(openEmbeddedStore({ dir }), (err: unknown) => {
        assert.ok(err instanceof StoreCorruptError);
        assert.equal(err.code, 'STORE_CORRUPT');
        assert.match(err.message, new RegExp(`${wal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*offset ${second.offset}\\b`));
        return true;
      });
      // The failed open released the lock and changed nothing on disk.
      assert.deepEqual(await readFile(wal), bytes);
      assert.ok(!(await readdir(dir)).includes('LOCK'));
    }));

  test('compaction writes a snapshot, keeps data, metadata and revision, and removes old logs', () =>
    withDir(async (dir) => {
      const options = { dir, compactAfterBytes: 2048 };
      let before: Awaited<ReturnType<Awaited<ReturnType<typeof openEmbeddedStore>>['range']>> | undefined;
      await withStore(options, async (store) => {
        for (let i = 0; i < 120; i++) await store.put(`/apisix/routes/${i % 40}`, JSON.stringify({ i, pad: 'x'.repeat(40) }));
        for (let i = 0; i < 10; i++) await store.delete(`/apisix/routes/${i}`);
        await store.put('/apisix/upstreams/leased', 'u', { ttlSeconds: 3600 });
        before = await store.range('/apisix/');
        assert.equal(before.revision, 132);

        const files = await readdir(dir);
        assert.ok(files.includes('snapshot'), `no snapshot in ${files.join(', ')}`);
        const logs = await walFiles(dir);
        assert.equal(logs.length, 1);
        assert.notEqual(logs[0], 'wal-0000000000000001.log', 'still on the first log');
        assert.ok((await stat(join(dir, logs[0] as string))).size < 2048 + 512, 'log not bounded');
      });
      await withStore(options, async (store) => {
        assert.deepEqual(await store.range('/apisix/'), before);
        assert.equal(typeof (await store.get('/apisix/upstreams/leased'))?.lease, 'number');
        assert.equal((await store.put('/apisix/routes/new', 'n')).revision, 133);
      });
    }));

  test('recovers from a compaction interrupted before or after the snapshot was installed', () =>
    withDir(async (dir) => {
      // Before: the next log exists (empty) and a half-written snapshot.tmp lies around.
      await withStore({ dir }, async (store) => {
        for (let i = 1; i <= 3; i++) await store.put(`/apisix/routes/${i}`, `v${i}`);
      });
      await writeFile(join(dir, 'wal-0000000000000002.log'), '');
      await writeFile(join(dir, 'snapshot.tmp'), 'half a snapshot');
      await withStore({ dir }, async (store) => {
        assert.deepEqual((await store.range('/apisix/')).kvs.map((kv) => kv.value), ['v1', 'v2', 'v3']);
        assert.equal((await store.put('/apisix/routes/4', 'v4')).revision, 5);
        assert.ok(!(await readdir(dir)).includes('snapshot.tmp'));
      });
      await withStore({ dir }, async (store) => assert.equal(await store.revision(), 5));

      // After: a compaction installed its snapshot but died before removing the old log. The old log
      // is contained in the snapshot and must be dropped unread (here it is not even valid).
      await withStore({ dir, compactAfterBytes: 1 }, async (store) => {
        await store.put('/apisix/routes/5', 'v5'); // triggers a compaction
      });
      const [current] = await walFiles(dir);
      await writeFile(join(dir, 'wal-0000000000000001.log'), 'stale log content');
      await withStore({ dir }, async (store) => {
        assert.deepEqual(await walFiles(dir), [current]);
        assert.deepEqual((await store.range('/apisix/')).kvs.map((kv) => kv.value), ['v1', 'v2', 'v3', 'v4', 'v5']);
        assert.equal(await store.revision(), 6);
      });
    }));

  test('a lease that ran out while the store was closed is deleted at open; a running one still expires', { timeout: 20_000 }, () =>
    withDir(async (dir) => {
      let shortExpiry = 0;
      await withStore({ dir }, async (store) => {
        await store.put('/apisix/routes/permanent', 'p'); // 2
        await store.put('/apisix/routes/short', 's', { ttlSeconds: 1 }); // 3
        shortExpiry = Date.now() + 1000;
        await store.put('/apisix/routes/long', 'l', { ttlSeconds: 2.5 }); // 4
      });
      await until(() => Date.now() > shortExpiry + 50, 'the short lease to pass');

      await withStore({ dir }, async (store) => {
        assert.equal(await store.get('/apisix/routes/short'), undefined);
        assert.equal(await store.revision(), 5, 'the expiry delete takes a revision');
        assert.equal((await store.get('/apisix/routes/long'))?.value, 'l');
        const events: WatchEvent[] = [];
        const handle = store.watch('/apisix/', { fromRevision: 6, onBatch: (batch) => events.push(...batch.events) });
        await until(() => events.length > 0, 'the long lease to expire');
        handle.cancel();
        assert.deepEqual(events.map((e) => `${e.type} ${e.kv.key} @${e.kv.modRevision}`), ['delete /apisix/routes/long @6']);
      });
      await withStore({ dir }, async (store) => {
        assert.deepEqual((await store.range('/apisix/')).kvs.map((kv) => kv.key), ['/apisix/routes/permanent']);
        assert.equal(await store.revision(), 6, 'expiry deletes are logged like any write');
      });
    }));
});

describe('EmbeddedStore directory lock and permissions', () => {
  test('a second opener in the same process is refused while the first is open; close releases the lock', () =>
    withDir(async (dir) => {
      await withStore({ dir }, async () => {
        await assert.rejects(openEmbeddedStore({ dir }), (err: unknown) => {
          assert.ok(err instanceof StoreLockedError);
          assert.equal(err.code, 'STORE_LOCKED');
          assert.equal(err.pid, process.pid);
          assert.ok(err.message.includes(dir));
          return true;
        });
      });
      assert.ok(!(await readdir(dir)).includes('LOCK'));
      await withStore({ dir }, async (store) => assert.equal(await store.revision(), 1));
    }));

  test('a live process holding the lock is named in the error; once it is killed its stale lock is taken over', { timeout: 30_000 }, () =>
    withDir(async (dir) => {
      const writer = startWriter(dir, '/apisix/routes/w-');
      let childPid = 0;
      try {
        childPid = await writer.ready;
        await assert.rejects(openEmbeddedStore({ dir }), (err: unknown) => {
          assert.ok(err instanceof StoreLockedError);
          assert.equal(err.pid, childPid);
          assert.ok(err.message.includes(String(childPid)) && err.message.includes(dir));
          return true;
        });
      } finally {
        writer.child.kill('SIGKILL');
        await writer.exited;
      }
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(childPid), 'the killed writer left its lock');
      await withStore({ dir }, async (store) => {
        assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid));
        for (const [key, revision] of writer.acks) assert.equal((await store.get(key))?.modRevision, revision, key);
      });
    }));

  test('a lock file with unreadable content is taken over', () =>
    withDir(async (dir) => {
      await withStore({ dir }, async () => undefined);
      await writeFile(join(dir, 'LOCK'), 'not a pid');
      await withStore({ dir }, async (store) => assert.equal(await store.revision(), 1));
    }));

  test('creates a missing directory with mode 0700 and its files with mode 0600', () =>
    withDir(async (dir) => {
      const nested = join(dir, 'a', 'b');
      await withStore({ dir: nested, compactAfterBytes: 256 }, async (store) => {
        for (let i = 0; i < 10; i++) await store.put(`/apisix/routes/${i}`, 'x'.repeat(64));
        assert.equal((await stat(nested)).mode & 0o777, 0o700);
        const names = await readdir(nested);
        assert.ok(names.includes('snapshot') && names.includes('LOCK'));
        for (const name of names) assert.equal((await stat(join(nested, name))).mode & 0o777, 0o600, name);
      });
    }));
});
