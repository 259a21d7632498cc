/**
 * A write the Admin API acknowledged survives `kill -9` of the gateway:
 * SIGKILL it in the middle of a stream of concurrent Admin writes, restart
 * on the same data, and every acknowledged route must be there with the
 * value that was acknowledged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminRequest, startGatewayProcess } from '../helpers/gateway-process.js';

test('every acknowledged Admin write survives SIGKILL, twice in a row', async () => {
  const first = await startGatewayProcess();
  let gw = first;
  const acked = new Map<string, string>();
  try {
    for (let round = 0; round < 2; round++) {
      let stop = false;
      let n = 0;
      // Four writers in parallel, so group commits are exercised too.
      const writer = async (w: number) => {
        while (!stop) {
          const id = `r${round}-${w}-${n++}`;
          const uri = `/${id}`;
          try {
            const res = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, { uri, upstream: { nodes: { '127.0.0.1:1': 1 } } });
            if (res.status === 201) acked.set(id, uri);
          } catch {
            return; // connection cut by the kill: this write was never acknowledged
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      while (acked.size < 60 * (round + 1)) await new Promise((r) => setTimeout(r, 5));
      await gw.kill();
      stop = true;
      await Promise.all(writers);

      gw = await startGatewayProcess({ restartOf: gw });
      const list = await adminRequest(gw, 'GET', '/apisix/admin/routes');
      assert.equal(list.status, 200);
      const stored = new Map(
        (list.json as { list: Array<{ value: { id: string; uri: string } }> }).list.map((i) => [i.value.id, i.value.uri]),
      );
      for (const [id, uri] of acked) assert.equal(stored.get(id), uri, `acknowledged route ${id} must survive`);
    }
  } finally {
    await gw.stop();
    first.cleanup();
  }
});
