import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { openStandaloneFileStore, StandaloneConfigError, type StandaloneFileStore } from './standalone-file.js';
import { StoreReadOnlyError, type WatchEvent } from './types.js';

const INITIAL = `
routes:
  - id: 1
    uri: /one
  - id: 2
    uri: /two
upstreams:
  - id: u1
    nodes:
      "127.0.0.1:1980": 1
#END
`;

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<{ msg: string; [k: string]: unknown }> } {
  const lines: Array<{ msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { logger: pino<never>({ level: 'info' }, stream), lines };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Replaces the file the way deploy tools do: write a temporary file, rename it over. */
async function replaceAtomically(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

async function withFile(name: string, content: string, body: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fngate-standalone-'));
  try {
    const file = join(dir, name);
    await writeFile(file, content);
    await body(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function describeEvents(events: readonly WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.kv.key}${e.type === 'put' ? `=${e.kv.value}` : ''} @${e.kv.modRevision}`);
}

describe('StandaloneFileStore', () => {
  test('loads the file as etcd-style keys, one revision per key in key order, and refuses writes', () =>
    withFile('apisix.yaml', INITIAL, async (file) => {
      const store = await openStandaloneFileStore({ file });
      try {
        assert.equal(store.readOnly, true);
        assert.equal(store.backend, 'yaml');
        const { kvs, revision } = await store.range('/apisix/');
        assert.equal(revision, 4);
        assert.deepEqual(kvs.map((kv) => [kv.key, kv.value, kv.modRevision]), [
          ['/apisix/routes/1', '{"id":1,"uri":"/one"}', 2],
          ['/apisix/routes/2', '{"id":2,"uri":"/two"}', 3],
          ['/apisix/upstreams/u1', '{"id":"u1","nodes":{"127.0.0.1:1980":1}}', 4],
        ]);
        await assert.rejects(store.put('/apisix/routes/3', '{}'), (err: unknown) => err instanceof StoreReadOnlyError && err.code === 'STORE_READ_ONLY');
        await assert.rejects(store.delete('/apisix/routes/1'), StoreReadOnlyError);
      } finally {
        await store.close();
      }
    }));

  test('an atomic replacement is noticed through the directory watch and becomes put/delete events; unchanged keys keep their revisions', () =>
    withFile('apisix.yaml', INITIAL, async (file) => {
      // A long poll interval: only fs.watch on the directory can notice the rename in time.
      const store = await openStandaloneFileStore({ file, pollIntervalMs: 60_000 });
      const events: WatchEvent[] = [];
      const handle = store.watch('/apisix/', { fromRevision: 5, onBatch: (b) => events.push(...b.events) });
      try {
        await replaceAtomically(file, `
routes:
  - id: 1
    uri: /one
  - id: 3
    uri: /three
upstreams:
  - id: u1
    nodes:
      "127.0.0.1:1981": 1
#END
`);
        await until(() => events.length === 3, 'three change events');
        assert.deepEqual(describeEvents(events), [
          'delete /apisix/routes/2 @5',
          'put /apisix/routes/3={"id":3,"uri":"/three"} @6',
          'put /apisix/upstreams/u1={"id":"u1","nodes":{"127.0.0.1:1981":1}} @7',
        ]);
        assert.equal((await store.get('/apisix/routes/1'))?.modRevision, 2, 'an unchanged item got a new revision');
        assert.equal((await store.get('/apisix/upstreams/u1'))?.version, 2);
      } finally {
        handle.cancel();
        await store.close();
      }
    }));

  test('an in-place rewrite is noticed too, and a rewrite with identical content produces no events', () =>
    withFile('apisix.yaml', INITIAL, async (file) => {
      const store = await openStandaloneFileStore({ file, pollIntervalMs: 100 });
      const events: WatchEvent[] = [];
      const handle = store.watch('/apisix/', { fromRevision: 5, onBatch: (b) => events.push(...b.events) });
      try {
        await writeFile(file, INITIAL); // same content
        assert.equal(await store.reload(), 0);
        await writeFile(file, INITIAL.replace('/two', '/2'));
        await until(() => events.length === 1, 'one change event');
        assert.deepEqual(describeEvents(events), ['put /apisix/routes/2={"id":2,"uri":"/2"} @5']);
      } finally {
        handle.cancel();
        await store.close();
      }
    }));

  test('a file without #END, with a missing variable or removed keeps the previous configuration', () =>
    withFile('apisix.yaml', INITIAL, async (file) => {
      const { logger, lines } = capturingLogger();
      const store: StandaloneFileStore = await openStandaloneFileStore({ file, logger, env: {} });
      const events: WatchEvent[] = [];
      const handle = store.watch('/apisix/', { fromRevision: 5, onBatch: (b) => events.push(...b.events) });
      try {
        const before = await store.range('/apisix/');

        await writeFile(file, INITIAL.replace('#END', '')); // a half-written file
        await until(() => lines.some((l) => String(l.msg).includes('missing valid end flag')), 'the end-flag warning');
        await assert.rejects(store.reload(), (err: unknown) => err instanceof StandaloneConfigError && err.message === `${file}: missing valid end flag`);

        await writeFile(file, INITIAL.replace('/two', '${{UNSET_VAR}}'));
        await assert.rejects(store.reload(), /can't find environment variable UNSET_VAR/);

        await unlink(file);
        await assert.rejects(store.reload(), /cannot read .*ENOENT/);

        assert.deepEqual(await store.range('/apisix/'), before);
        assert.equal(events.length, 0);

        await writeFile(file, INITIAL.replace('/two', '/fixed'));
        await until(() => events.length === 1, 'the fixed file to load');
        assert.deepEqual(describeEvents(events), ['put /apisix/routes/2={"id":2,"uri":"/fixed"} @5']);
      } finally {
        handle.cancel();
        await store.close();
      }
    }));

  test('a JSON file is read by its extension, with variables resolved and a custom prefix', () =>
    withFile('apisix.json', '{"routes":[{"id":"r","uri":"${{URI}}"}],"plugins":[{"name":"key-auth"}]}', async (file) => {
      const store = await openStandaloneFileStore({ file, prefix: '/gw', env: { URI: '/json' } });
      try {
        const { kvs } = await store.range('/gw/');
        assert.deepEqual(kvs.map((kv) => [kv.key, kv.value]), [
          ['/gw/plugins', '[{"name":"key-auth"}]'],
          ['/gw/routes/r', '{"id":"r","uri":"/json"}'],
        ]);
      } finally {
        await store.close();
      }
    }));

  test('opening fails with a clear error when the file is missing or unusable', async () => {
    await assert.rejects(openStandaloneFileStore({ file: join(tmpdir(), 'fngate-no-such-dir', 'apisix.yaml') }), (err: unknown) => {
      assert.ok(err instanceof StandaloneConfigError);
      assert.equal(err.code, 'STORE_STANDALONE_INVALID');
      assert.match(err.message, /cannot read .*apisix\.yaml.*ENOENT/);
      return true;
    });
    await withFile('apisix.yaml', 'routes: []\n', async (file) => {
      await assert.rejects(openStandaloneFileStore({ file }), /missing valid end flag/);
    });
    await withFile('apisix.yaml', 'routes:\n  - uri: ${{NOT_SET_ANYWHERE}}\n#END\n', async (file) => {
      await assert.rejects(openStandaloneFileStore({ file, env: {} }), /apisix\.yaml: can't find environment variable NOT_SET_ANYWHERE/);
    });
  });
});
