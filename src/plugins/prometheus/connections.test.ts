import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Agent, request } from 'undici';
import { waitFor } from '../../../test/helpers/net.js';
import { ConnectionStats } from './connections.js';

test('accepted/handled and requests only grow; active, writing and waiting follow the sockets', async () => {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const stats = new ConnectionStats();
  stats.watch([server]);
  stats.watch([server]); // watching twice counts once
  const { port } = server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  // One connection per client, so the counts are known.
  const agent = new Agent({ connections: 1 });
  const other = new Agent({ connections: 1 });

  try {
    for (let i = 0; i < 3; i++) await (await request(`${base}/`, { dispatcher: agent })).body.text();
    // Keep-alive: one connection served three requests and now waits.
    await waitFor(() => stats.counts().requests === 3);
    assert.deepEqual(stats.counts(), { accepted: 1, handled: 1, active: 1, reading: 0, writing: 0, waiting: 1, requests: 3 });

    // A second connection with a response in progress is `writing`.
    const hold = request(`${base}/hold`, { dispatcher: other });
    await waitFor(() => held.length === 1);
    assert.deepEqual(stats.counts(), { accepted: 2, handled: 2, active: 2, reading: 0, writing: 1, waiting: 1, requests: 4 });
    held[0]?.end('done');
    await (await hold).body.text();

    await Promise.all([agent.close(), other.close()]);
    await waitFor(() => stats.counts().active === 0, { what: 'closed connections to leave the active count' });
    assert.deepEqual(stats.counts(), { accepted: 2, handled: 2, active: 0, reading: 0, writing: 0, waiting: 0, requests: 4 });
  } finally {
    await Promise.all([agent.destroy(), other.destroy()]);
    server.close();
  }
});
