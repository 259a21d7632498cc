/**
 * The etcd backend beyond the shared contract, against real etcd processes:
 * APISIX's byte layout, two clients racing, resuming a watch across an etcd
 * restart, compaction, leases, unreachable etcd, fail-over, auth and TLS.
 * Outages are real: etcd is killed and restarted, or cut off by a TCP relay.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd/store.js';
import { initStoreDirectories } from '../../src/admin/init-store.js';
import { APISIX_DIRECTORIES } from '../../src/resources/keys.js';
import { CasConflictError, CompactedError, StoreUnavailableError, type WatchEvent, type WatchHandle } from '../../src/store/types.js';
import type { EtcdConfig } from '../../src/config/types.js';
import { createEtcdTlsFiles, startEtcd, startTcpRelay, type EtcdServer, type StartEtcdOptions } from '../helpers/etcd.js';
import { freePort, waitFor } from '../helpers/net.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined) => Buffer.from(text ?? '', 'base64').toString('utf8');

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

/** Runs `body` with a fresh etcd, always destroying it and whatever `body` registered for cleanup. */
async function withEtcd(
  body: (etcd: EtcdServer, cleanup: (fn: () => Promise<unknown> | void) => void) => Promise<void>,
  options?: StartEtcdOptions,
): Promise<void> {
  const etcd = await startEtcd(options);
  const cleanups: (() => Promise<unknown> | void)[] = [];
  try {
    await body(etcd, (fn) => cleanups.push(fn));
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    await etcd.destroy();
  }
}

async function open(config: EtcdConfig, cleanup: (fn: () => Promise<unknown>) => void, logger?: Logger): Promise<EtcdStore> {
  const store = await openEtcdStore({ config, ...(logger ? { logger } : {}) });
  cleanup(() => store.close());
  return store;
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

function captureLogs(): { logger: Logger; lines: LogLine[]; count: (msg: string) => number } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, count: (msg) => lines.filter((l) => l.msg === msg).length };
}

interface Recording {
  readonly events: WatchEvent[];
  readonly handle: WatchHandle;
  readonly error: Error | undefined;
}

function recordWatch(store: EtcdStore, prefix: string, fromRevision: number): Recording {
  const events: WatchEvent[] = [];
  let error: Error | undefined;
  const handle = store.watch(prefix, {
    fromRevision,
    onBatch: (batch) => void events.push(...batch.events),
    onError: (err) => {
      error = err;
    },
  });
  return { events, handle, get error() { return error; } };
}

const show = (e: WatchEvent) => (e.type === 'put' ? `put ${e.kv.key}=${e.kv.value} @${e.kv.modRevision}` : `delete ${e.kv.key} @${e.kv.modRevision}`);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a rejection');
}

async function enableRootAuth(etcd: EtcdServer, password: string): Promise<void> {
  await etcd.call('/v3/auth/user/add', { name: 'root', password });
  await etcd.call('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await etcd.call('/v3/auth/enable', {});
}

describe('EtcdStore against a real etcd', { timeout: 60_000 }, () => {
  describe("APISIX's keyspace", () => {
    test('reads keys and values written the way APISIX writes them (raw v3 gateway calls)', () =>
      withEtcd(async (etcd, cleanup) => {
        const route = '{"uri":"/hello","name":"grüße ✓","upstream":{"nodes":{"127.0.0.1:1980":1},"type":"roundrobin"}}';
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/'), value: b64('init_dir') });
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/1'), value: b64(route) });
        const genId = await etcd.call<{ header: { revision: string } }>('/v3/kv/put', { key: b64('/apisix/gen_id'), value: b64('1') });
        const id = genId.header.revision.padStart(20, '0');
        await etcd.call('/v3/kv/put', { key: b64(`/apisix/routes/${id}`), value: b64('{"uri":"/posted"}') });
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/1'), value: b64(route.replace('/hello', '/hi')) });

        const store = await open(etcd.config(), cleanup);
        const { kvs, revision } = await store.range('/apisix/routes/');
        assert.equal(revision, 6);
        assert.deepEqual(kvs.map((kv) => [kv.key, kv.value]), [
          ['/apisix/routes/', 'init_dir'],
          [`/apisix/routes/${id}`, '{"uri":"/posted"}'],
          ['/apisix/routes/1', route.replace('/hello', '/hi')],
        ]);
        // createdIndex / modifiedIndex of the Admin API are etcd's create/mod revisions.
        const raw = await etcd.call<{ kvs: RawKv[] }>('/v3/kv/range', { key: b64('/apisix/routes/1') });
        const rawKv = raw.kvs[0] as RawKv;
        assert.deepEqual(await store.get('/apisix/routes/1'), {
          key: '/apisix/routes/1',
          value: route.replace('/hello', '/hi'),
          createRevision: Number(rawKv.create_revision),
          modRevision: Number(rawKv.mod_revision),
          version: 2,
        });
        assert.equal(store.lastRevision(), 6);
      }));

    test('writes what APISIX reads: exact bytes, directory markers, revisions', () =>
      withEtcd(async (etcd, cleanup) => {
        const store = await open(etcd.config(), cleanup);
        await initStoreDirectories(store, '/apisix');
        const value = '{"uri":"/ünïcode","plugins":{}}';
        const { revision } = await store.put('/apisix/routes/1', value);

        const raw = await etcd.call<{ kvs: RawKv[]; header: { revision: string } }>('/v3/kv/range', {
          key: b64('/apisix/'),
          range_end: b64('/apisix0'),
        });
        assert.equal(Number(raw.header.revision), revision);
        const byKey = new Map(raw.kvs.map((kv) => [unb64(kv.key), kv]));
        for (const dir of APISIX_DIRECTORIES) assert.equal(unb64(byKey.get(`/apisix/${dir}/`)?.value), 'init_dir', dir);
        const written = byKey.get('/apisix/routes/1');
        assert.deepEqual(Buffer.from(written?.value ?? '', 'base64'), Buffer.from(value, 'utf8'));
        assert.equal(Number(written?.mod_revision), revision);

        // Starting again writes nothing: the markers exist.
        await initStoreDirectories(store, '/apisix');
        assert.equal(await store.revision(), revision);
      }));
  });

  test('range reads a large prefix in pages, at one revision, in key order', () =>
    withEtcd(async (etcd, cleanup) => {
      const paged = await openEtcdStore({ config: etcd.config(), rangePageSize: 2 });
      cleanup(() => paged.close());
      for (const id of ['3', '1', '5', '2', '4']) await paged.put(`/apisix/routes/${id}`, `v${id}`);
      await paged.put('/apisix/routes2/1', 'sibling');
      const { kvs, revision } = await paged.range('/apisix/routes/');
      assert.equal(revision, 7);
      assert.deepEqual(kvs.map((kv) => kv.value), ['v1', 'v2', 'v3', 'v4', 'v5']);
      const whole = await open(etcd.config(), cleanup);
      assert.deepEqual(await whole.range('/apisix/routes/'), { kvs, revision });
    }));

  test('compare-and-swap between two clients: the stale one gets CasConflictError', () =>
    withEtcd(async (etcd, cleanup) => {
      const a = await open(etcd.config(), cleanup);
      const b = await open(etcd.config(), cleanup);
      const { revision } = await a.put('/apisix/routes/1', 'v1');
      const seenByB = await b.get('/apisix/routes/1');
      assert.equal(seenByB?.modRevision, revision);

      await a.put('/apisix/routes/1', 'v2 from a', { ifModRevision: revision });
      await assert.rejects(b.put('/apisix/routes/1', 'v2 from b', { ifModRevision: revision }), CasConflictError);
      await assert.rejects(b.delete('/apisix/routes/1', { ifModRevision: revision }), CasConflictError);
      assert.equal((await b.get('/apisix/routes/1'))?.value, 'v2 from a');

      const creates = await Promise.allSettled([a, b, a, b].map((s, i) => s.put('/apisix/routes/2', `w${i}`, { ifModRevision: 0 })));
      assert.equal(creates.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of creates) if (o.status === 'rejected') assert.ok(o.reason instanceof CasConflictError);
    }));

  describe('watch', () => {
    test('resumes after etcd restarts and delivers, once and in order, what was written while it was cut off', () =>
      withEtcd(async (etcd, cleanup) => {
        const relay = await startTcpRelay(etcd.clientPort);
        cleanup(() => relay.close());
        const logs = captureLogs();
        const store = await open(etcd.config({ host: [relay.url], resync_delay: 0.05 }), cleanup, logs.logger);
        const rec = recordWatch(store, '/apisix/', 2);
        cleanup(() => rec.handle.cancel());
        await store.put('/apisix/routes/1', 'before'); // 2
        await waitFor(() => rec.events.length === 1, { what: 'the first event' });

        await etcd.stop('SIGKILL');
        await waitFor(() => !store.isConnected(), { what: 'the watch to notice the outage' });
        relay.cut(); // etcd comes back, but this client stays cut off until heal()
        await etcd.start();
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/1'), value: b64('during') }); // 3
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/2'), value: b64('new') }); // 4
        await etcd.call('/v3/kv/deleterange', { key: b64('/apisix/routes/1') }); // 5
        const retries = logs.count('etcd watch disconnected');
        await waitFor(() => logs.count('etcd watch disconnected') >= retries + 2, { what: 'two more reconnection attempts' });
        assert.equal(rec.events.length, 1);
        assert.equal(store.isConnected(), false);
        assert.match(store.lastError() ?? '', /etcd/);

        relay.heal();
        await waitFor(() => rec.events.length === 4, { what: 'the missed events' });
        await store.put('/apisix/routes/3', 'after'); // 6
        await waitFor(() => rec.events.length === 5, { what: 'the live event' });
        assert.deepEqual(rec.events.map(show), [
          'put /apisix/routes/1=before @2',
          'put /apisix/routes/1=during @3',
          'put /apisix/routes/2=new @4',
          'delete /apisix/routes/1 @5',
          'put /apisix/routes/3=after @6',
        ]);
        assert.equal(rec.events[3]?.prevKv?.value, 'during');
        assert.equal(rec.error, undefined);
        assert.equal(store.isConnected(), true);
        assert.equal(store.lastError(), undefined);
        assert.equal(store.lastRevision(), 6);
        // One warning for the whole outage however many attempts failed, one line on recovery.
        assert.equal(logs.count('etcd unavailable; retrying'), 1);
        assert.equal(logs.count('etcd connection recovered'), 1);
      }));

    test('from a compacted revision fails with CompactedError naming the oldest revision kept', () =>
      withEtcd(async (etcd, cleanup) => {
        const store = await open(etcd.config(), cleanup);
        for (const v of ['a', 'b', 'c']) await store.put('/apisix/routes/1', v); // 2, 3, 4
        await etcd.call('/v3/kv/compaction', { revision: '4', physical: true });

        const compacted = recordWatch(store, '/apisix/', 2);
        cleanup(() => compacted.handle.cancel());
        await waitFor(() => compacted.error !== undefined, { what: 'the compaction error' });
        assert.ok(compacted.error instanceof CompactedError);
        assert.equal(compacted.error.requested, 2);
        assert.equal(compacted.error.oldest, 4);
        assert.equal(compacted.events.length, 0);

        const kept = recordWatch(store, '/apisix/', 4);
        cleanup(() => kept.handle.cancel());
        await waitFor(() => kept.events.length === 1, { what: 'the kept revision' });
        assert.equal(show(kept.events[0] as WatchEvent), 'put /apisix/routes/1=c @4');
      }));

    test('ends with CompactedError when etcd compacted the resume revision while the watch was cut off', () =>
      withEtcd(async (etcd, cleanup) => {
        const relay = await startTcpRelay(etcd.clientPort);
        cleanup(() => relay.close());
        const store = await open(etcd.config({ host: [relay.url], resync_delay: 0.05 }), cleanup);
        const rec = recordWatch(store, '/apisix/', 2);
        cleanup(() => rec.handle.cancel());
        await store.put('/apisix/routes/1', 'a'); // 2
        await waitFor(() => rec.events.length === 1, { what: 'the first event' });

        relay.cut();
        await waitFor(() => !store.isConnected(), { what: 'the watch to notice' });
        for (const v of ['b', 'c', 'd']) await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/1'), value: b64(v) }); // 3..5
        await etcd.call('/v3/kv/compaction', { revision: '5', physical: true });
        relay.heal();

        await waitFor(() => rec.error !== undefined, { what: 'the compaction error' });
        assert.ok(rec.error instanceof CompactedError);
        assert.equal(rec.error.requested, 3);
        assert.equal(rec.error.oldest, 5);
        assert.equal(rec.events.length, 1);
      }));

    test('a watch reopened after watch_timeout continues without loss or repeats', () =>
      withEtcd(async (etcd, cleanup) => {
        const store = await open(etcd.config({ watch_timeout: 0.2 }), cleanup);
        const rec = recordWatch(store, '/apisix/', 2);
        cleanup(() => rec.handle.cancel());
        const started = Date.now();
        let n = 0;
        // Writes spread over several watch lifetimes.
        while (Date.now() - started < 700) {
          await store.put(`/apisix/routes/${n++}`, 'x');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await waitFor(() => rec.events.length === n, { what: `${n} events` });
        assert.deepEqual(rec.events.map((e) => e.kv.modRevision), Array.from({ length: n }, (_, i) => i + 2));
        assert.equal(rec.error, undefined);
      }));
  });

  test('ttlSeconds attaches a real etcd lease, which etcd expires', () =>
    withEtcd(async (etcd, cleanup) => {
      const store = await open(etcd.config(), cleanup);
      // etcd leases are whole seconds: 1.5 is granted as 2.
      await store.put('/apisix/routes/1', 'leased', { ttlSeconds: 1.5 });
      const raw = await etcd.call<{ kvs: RawKv[] }>('/v3/kv/range', { key: b64('/apisix/routes/1') });
      const lease = raw.kvs[0]?.lease;
      assert.ok(lease !== undefined && lease !== '0', 'the key carries a lease');
      const ttl = await etcd.call<{ grantedTTL: string; keys?: string[] }>('/v3/lease/timetolive', { ID: lease, keys: true });
      assert.equal(ttl.grantedTTL, '2');
      assert.deepEqual(ttl.keys?.map(unb64), ['/apisix/routes/1']);
      await waitFor(async () => (await store.get('/apisix/routes/1')) === undefined, { what: 'the lease to expire' });
      await assert.rejects(store.put('/apisix/routes/2', 'x', { ttlSeconds: 0 }), RangeError);
    }));

  describe('failures', () => {
    test('an unreachable etcd is a StoreUnavailableError at once', async () => {
      const port = await freePort();
      const started = Date.now();
      const err = await rejection(openEtcdStore({ config: { ...baseConfig, host: [`http://127.0.0.1:${port}`], startup_retry: 2 } }));
      assert.ok(err instanceof StoreUnavailableError, String(err));
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
    });

    test('an etcd that accepts but never answers fails after `timeout` seconds', async () => {
      const held = new Set<Socket>();
      const silent = createServer((socket) => void held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        const started = Date.now();
        const err = await rejection(openEtcdStore({ config: { ...baseConfig, host: [`http://127.0.0.1:${port}`], timeout: 0.3 } }));
        const elapsed = Date.now() - started;
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.match(err.message, /did not answer within 0\.3 s/);
        assert.ok(elapsed >= 250 && elapsed < 2_000, `took ${elapsed} ms`);
      } finally {
        for (const socket of held) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    test('requests fail with StoreUnavailableError while etcd is down and work again once it is back', () =>
      withEtcd(async (etcd, cleanup) => {
        const store = await open(etcd.config(), cleanup);
        await store.put('/apisix/routes/1', 'a');
        assert.equal(store.isConnected(), true);
        await etcd.stop();

        await assert.rejects(store.get('/apisix/routes/1'), StoreUnavailableError);
        const err = await rejection(store.put('/apisix/routes/1', 'b'));
        assert.ok(err instanceof StoreUnavailableError);
        assert.match(err.message, /etcd/);
        assert.equal(store.isConnected(), false);
        assert.equal(store.lastError(), err.message);

        await etcd.start();
        assert.equal((await store.get('/apisix/routes/1'))?.value, 'a');
        assert.equal(store.isConnected(), true);
        assert.equal((await store.put('/apisix/routes/1', 'b')).revision, 3);
      }));

    test('fails over to the next host: reads at once, and writes go to the healthy host', () =>
      withEtcd(async (etcd, cleanup) => {
        const relay = await startTcpRelay(etcd.clientPort);
        cleanup(() => relay.close());
        const dead = `http://127.0.0.1:${await freePort()}`;
        const store = await open(etcd.config({ host: [dead, relay.url, etcd.url] }), cleanup);
        await store.put('/apisix/routes/1', 'a');
        await waitFor(() => relay.connections > 0, { what: 'the store to use the relay' });

        relay.cut();
        assert.equal((await store.get('/apisix/routes/1'))?.value, 'a');
        assert.equal((await store.put('/apisix/routes/1', 'b')).revision, 3);
        const rec = recordWatch(store, '/apisix/', 2);
        cleanup(() => rec.handle.cancel());
        await waitFor(() => rec.events.length === 2, { what: 'the watch through the healthy host' });
        assert.equal(relay.connections, 0);
      }));
  });

  describe('auth', () => {
    test('user/password authenticate; wrong or missing credentials are StoreUnavailableError with etcd\'s message', () =>
      withEtcd(async (etcd, cleanup) => {
        await enableRootAuth(etcd, 'rootpw');
        const store = await open(etcd.config({ user: 'root', password: 'rootpw' }), cleanup);
        const rec = recordWatch(store, '/apisix/', 0);
        cleanup(() => rec.handle.cancel());
        const { revision } = await store.put('/apisix/routes/1', 'a');
        assert.equal((await store.get('/apisix/routes/1'))?.modRevision, revision);
        await waitFor(() => rec.events.length === 1, { what: 'the watched event' });

        const wrong = await rejection(openEtcdStore({ config: etcd.config({ user: 'root', password: 'nope' }) }));
        assert.ok(wrong instanceof StoreUnavailableError);
        assert.equal(wrong.message, 'etcdserver: authentication failed, invalid user ID or password');
        const missing = await rejection(openEtcdStore({ config: etcd.config() }));
        assert.ok(missing instanceof StoreUnavailableError);
        assert.equal(missing.message, 'etcdserver: user name is empty');
      }));

    test('a token etcd no longer accepts is renewed transparently, for requests and watches', () =>
      withEtcd(async (etcd, cleanup) => {
        await enableRootAuth(etcd, 'rootpw');
        const logs = captureLogs();
        const store = await open(etcd.config({ user: 'root', password: 'rootpw', watch_timeout: 0.2 }), cleanup, logs.logger);
        const rec = recordWatch(store, '/apisix/', 2);
        cleanup(() => rec.handle.cancel());
        await store.put('/apisix/routes/1', 'a'); // 2
        await waitFor(() => rec.events.length === 1, { what: 'the first event' });

        // Disabling and re-enabling auth drops every token etcd issued.
        const { token } = await etcd.call<{ token: string }>('/v3/auth/authenticate', { name: 'root', password: 'rootpw' });
        await etcd.call('/v3/auth/disable', {}, token);
        await etcd.call('/v3/auth/enable', {});
        await assert.rejects(etcd.call('/v3/kv/range', { key: b64('/') }, token), /invalid auth token/);

        assert.equal((await store.put('/apisix/routes/1', 'b')).revision, 3);
        // The watch reopens every 0.2 s, so it too met the stale token and renewed it.
        await waitFor(() => rec.events.length === 2, { what: 'the event after renewal' });
        const { token: fresh } = await etcd.call<{ token: string }>('/v3/auth/authenticate', { name: 'root', password: 'rootpw' });
        await etcd.call('/v3/kv/put', { key: b64('/apisix/routes/1'), value: b64('c') }, fresh);
        await waitFor(() => rec.events.length === 3, { what: 'a later event' });
        assert.equal(rec.error, undefined);
        assert.equal(logs.count('etcd unavailable; retrying'), 0);
      }));
  });

  describe('TLS', () => {
    test('client certificate, server verification with SNI, and verify: false', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fngate-etcd-tls-'));
      try {
        const files = await createEtcdTlsFiles(dir);
        await withEtcd(async (etcd, cleanup) => {
          const trustedCa = readFileSync(files.caFile);
          const clientTls = { cert: files.clientCertFile, key: files.clientKeyFile };

          const verified = await openEtcdStore({ config: etcd.config({ tls: { ...clientTls, verify: true, sni: files.serverName } }), trustedCa });
          cleanup(() => verified.close());
          const rec = recordWatch(verified, '/apisix/', 2);
          cleanup(() => rec.handle.cancel());
          await verified.put('/apisix/routes/1', 'over tls');
          await waitFor(() => rec.events.length === 1, { what: 'the event over TLS' });

          // The certificate names etcd.test, not 127.0.0.1: without SNI, verification fails.
          const noSni = await rejection(openEtcdStore({ config: etcd.config({ tls: { ...clientTls, verify: true } }), trustedCa }));
          assert.ok(noSni instanceof StoreUnavailableError);
          assert.match(noSni.message, /altnames|does not match/i);

          const unverified = await openEtcdStore({ config: etcd.config({ tls: { ...clientTls, verify: false } }) });
          cleanup(() => unverified.close());
          assert.equal((await unverified.get('/apisix/routes/1'))?.value, 'over tls');

          // etcd requires a client certificate (--client-cert-auth).
          const noCert = await rejection(openEtcdStore({ config: etcd.config({ tls: { verify: false } }) }));
          assert.ok(noCert instanceof StoreUnavailableError);
        }, { tls: files });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

const baseConfig: EtcdConfig = {
  host: ['http://127.0.0.1:2379'],
  prefix: '/apisix',
  timeout: 5,
  watch_timeout: 50,
  startup_retry: 1,
  resync_delay: 0.05,
  health_check_timeout: 10,
};
