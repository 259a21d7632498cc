/**
 * proxy-rewrite, response-rewrite, ip-restriction and limit-count through
 * the real gateway: what the upstream receives, what the client gets, and
 * limit-count's exact counting across two data-plane workers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, request } from 'undici';
import { adminRequest, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/net.js';

interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

async function get(gw: GatewayProcess, path: string, headers: Record<string, string> = {}, fresh = false) {
  const res = await request(`${gw.proxyUrl}${path}`, { headers, reset: fresh });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** PUT a route and wait until the gateway serves it. */
async function putRoute(gw: GatewayProcess, id: string, body: Record<string, unknown>, probe: string): Promise<void> {
  const put = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, body);
  assert.ok(put.status === 200 || put.status === 201, put.text);
  await waitFor(async () => (await get(gw, probe)).status !== 404, { what: `route ${id}` });
}

describe('traffic plugins', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  /** Answers with the status named in `?status=` and a fixed text body. */
  let statusUp: TestUpstream;

  before(async () => {
    up = await startUpstream('up');
    statusUp = await startUpstream('status', (req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.writeHead(status, { 'content-type': 'text/plain', 'x-from': 'upstream' });
      res.end(`upstream said ${status}`);
    });
    gw = await startGatewayProcess();
  });
  after(async () => {
    await gw.stop();
    gw.cleanup();
    await up.close();
    await statusUp.close();
  });

  describe('proxy-rewrite', () => {
    test('uri, method and header actions are what the upstream receives', async () => {
      await putRoute(gw, 'pr1', {
        uri: '/pr/uri',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: {
          'proxy-rewrite': {
            uri: '/new/$arg_section',
            method: 'POST',
            headers: { add: { 'X-Multi': 'two' }, set: { 'X-Api': 'v1', 'X-Client': '$remote_addr' }, remove: ['X-Drop'] },
          },
        },
      }, '/pr/uri');
      const res = await get(gw, '/pr/uri?section=docs&x=1', { 'x-drop': 'gone', 'x-multi': 'one' });
      assert.equal(res.status, 200);
      const echo = JSON.parse(res.body) as Echo;
      assert.equal(echo.url, '/new/docs?section=docs&x=1');
      assert.equal(echo.method, 'POST');
      assert.equal(echo.headers['x-api'], 'v1');
      assert.equal(echo.headers['x-client'], '127.0.0.1');
      assert.equal(echo.headers['x-multi'], 'one, two');
      assert.equal(echo.headers['x-drop'], undefined);
    });

    test('host is the Host the upstream receives, whatever pass_host says', async () => {
      await putRoute(gw, 'pr3', {
        uri: '/pr/host',
        upstream: { nodes: { [up.node]: 1 }, pass_host: 'node' },
        plugins: { 'proxy-rewrite': { host: 'backend.test' } },
      }, '/pr/host');
      const echo = JSON.parse((await get(gw, '/pr/host')).body) as Echo;
      assert.equal(echo.headers.host, 'backend.test');
    });

    test('regex_uri: first matching pair, captures in the path and in headers', async () => {
      await putRoute(gw, 'pr2', {
        uri: '/pr/re/*',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'proxy-rewrite': { regex_uri: ['^/pr/re/(\\w+)/(\\w+)$', '/$2/$1', '^/pr/re/(.*)', '/rest/$1'], headers: { 'X-First': '$1' } } },
      }, '/pr/re/a/b');
      const swapped = JSON.parse((await get(gw, '/pr/re/alpha/beta')).body) as Echo;
      assert.equal(swapped.url, '/beta/alpha');
      assert.equal(swapped.headers['x-first'], 'alpha');
      const rest = JSON.parse((await get(gw, '/pr/re/x/y/z%20w?k=v')).body) as Echo;
      assert.equal(rest.url, '/rest/x/y/z%20w?k=v');
    });
  });

  describe('response-rewrite', () => {
    test('status, body and headers of a proxied response', async () => {
      await putRoute(gw, 'rr1', {
        uri: '/rr/body',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'response-rewrite': { status_code: 202, body: '{"rewritten":true}', headers: { set: { 'Content-Type': 'application/json', 'X-Route': '$route_id' }, remove: ['X-Upstream-Name'] } } },
      }, '/rr/body');
      const res = await get(gw, '/rr/body');
      assert.equal(res.status, 202);
      assert.equal(res.body, '{"rewritten":true}');
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(res.headers['x-route'], 'rr1');
      assert.equal(res.headers['x-upstream-name'], undefined);
    });

    test('filters substitute in the upstream body', async () => {
      await putRoute(gw, 'rr2', {
        uri: '/rr/filters',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'response-rewrite': { filters: [{ regex: '"name":"up"', replace: '"name":"hidden"' }, { regex: '/rr/(\\w+)', replace: '/x/$1', scope: 'global' }] } },
      }, '/rr/filters');
      const res = await get(gw, '/rr/filters');
      const echo = JSON.parse(res.body) as { name: string; url: string };
      assert.equal(echo.name, 'hidden');
      assert.equal(echo.url, '/x/filters');
      assert.equal(res.headers['content-length'], undefined);
    });

    test('vars: only responses whose status matches are rewritten; generated responses too', async () => {
      await putRoute(gw, 'rr3', {
        uri: '/rr/vars',
        upstream: { nodes: { [statusUp.node]: 1 } },
        plugins: { 'response-rewrite': { vars: [['status', '==', 500]], status_code: 503, body: 'we are on it\n' } },
      }, '/rr/vars');
      const fine = await get(gw, '/rr/vars?status=200');
      assert.equal(fine.status, 200);
      assert.equal(fine.body, 'upstream said 200');
      const broken = await get(gw, '/rr/vars?status=500');
      assert.equal(broken.status, 503);
      assert.equal(broken.body, 'we are on it\n');

      // A gateway-generated refusal goes through the same filters.
      await putRoute(gw, 'rr4', {
        uri: '/rr/denied',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: {
          'ip-restriction': { blacklist: ['127.0.0.1'] },
          'response-rewrite': { vars: [['status', '==', 403]], headers: { set: { 'X-Denied': 'yes' } } },
        },
      }, '/rr/denied');
      const denied = await get(gw, '/rr/denied');
      assert.equal(denied.status, 403);
      assert.equal(denied.headers['x-denied'], 'yes');
    });
  });

  describe('ip-restriction', () => {
    test('a whitelist admits listed clients and refuses others with 403 and the message', async () => {
      await putRoute(gw, 'ip1', {
        uri: '/ip/white',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.1', '10.8.0.0/16'] } },
      }, '/ip/white');
      assert.equal((await get(gw, '/ip/white')).status, 200);
      assert.equal((await get(gw, '/ip/white', { 'x-real-ip': '10.8.3.4' })).status, 200);
      const refused = await get(gw, '/ip/white', { 'x-real-ip': '10.9.0.1' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body, '{"message":"Your IP address is not allowed"}\n');
    });

    test('a blacklist refuses listed clients with the configured code and message', async () => {
      await putRoute(gw, 'ip2', {
        uri: '/ip/black',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'ip-restriction': { blacklist: ['192.0.2.0/24', '2001:db8::/32'], message: 'not here', response_code: 404 } },
      }, '/ip/black');
      assert.equal((await get(gw, '/ip/black')).status, 200);
      const v4 = await get(gw, '/ip/black', { 'x-real-ip': '192.0.2.10' });
      assert.equal(v4.status, 404);
      assert.equal(v4.body, '{"message":"not here"}\n');
      assert.equal((await get(gw, '/ip/black', { 'x-real-ip': '2001:db8::1' })).status, 404);
    });

    test('an invalid address is refused by the Admin API', async () => {
      const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/ip3', {
        uri: '/ip/bad', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'ip-restriction': { whitelist: ['::1/200'] } },
      });
      assert.equal(res.status, 400);
      assert.equal((res.json as { error_msg: string }).error_msg, 'failed to check the configuration of plugin ip-restriction err: invalid ip address: ::1/200');
    });
  });

  describe('limit-count', () => {
    test('count requests pass with the quota headers, then 503; the window resets', async () => {
      await putRoute(gw, 'lc1', {
        uri: '/lc/one',
        upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'limit-count': { count: 3, time_window: 2, key: 'http_x_who' } },
      }, '/lc/one');
      // Probing consumed part of the window of the client-address key; this test counts on its own key.
      const who = { 'x-who': 'lc1-client' };
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await get(gw, '/lc/one', who);
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-ratelimit-limit'], '3');
        remaining.push(String(res.headers['x-ratelimit-remaining']));
      }
      assert.deepEqual(remaining, ['2', '1', '0']);
      const rejected = await get(gw, '/lc/one', who);
      assert.equal(rejected.status, 503);
      assert.equal(rejected.headers['x-ratelimit-remaining'], '0');
      assert.ok(Number(rejected.headers['x-ratelimit-reset']) <= 2, String(rejected.headers['x-ratelimit-reset']));
      await waitFor(async () => (await get(gw, '/lc/one', who)).status === 200, { timeoutMs: 5_000, what: 'a new window' });
    });

    test('rejected_code and rejected_msg; routes count apart unless they share a group', async () => {
      const limit = { count: 1, time_window: 60, key: 'http_x_who', rejected_code: 429, rejected_msg: 'Too many requests' };
      await putRoute(gw, 'lc2', { uri: '/lc/a', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': limit } }, '/lc/a');
      await putRoute(gw, 'lc3', { uri: '/lc/b', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': limit } }, '/lc/b');
      const who = { 'x-who': 'apart' };
      assert.equal((await get(gw, '/lc/a', who)).status, 200);
      assert.equal((await get(gw, '/lc/b', who)).status, 200, 'another route, another counter');
      const rejected = await get(gw, '/lc/a', who);
      assert.equal(rejected.status, 429);
      assert.equal(rejected.body, '{"error_msg":"Too many requests"}\n');

      const grouped = { ...limit, group: 'shared-it' };
      await putRoute(gw, 'lc4', { uri: '/lc/c', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': grouped } }, '/lc/c');
      await putRoute(gw, 'lc5', { uri: '/lc/d', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': grouped } }, '/lc/d');
      const together = { 'x-who': 'together' };
      assert.equal((await get(gw, '/lc/c', together)).status, 200);
      assert.equal((await get(gw, '/lc/d', together)).status, 429, 'the group shares one counter');

      const mismatch = await adminRequest(gw, 'PUT', '/apisix/admin/routes/lc6', {
        uri: '/lc/e', upstream: { nodes: { [up.node]: 1 } }, plugins: { 'limit-count': { ...grouped, count: 2 } },
      });
      assert.equal(mismatch.status, 400);
      assert.equal((mismatch.json as { error_msg: string }).error_msg, 'failed to check the configuration of plugin limit-count err: group conf mismatched');
    });

    test('the Redis policies other than redis are refused with a clear reason', async () => {
      const res = await adminRequest(gw, 'PUT', '/apisix/admin/routes/lc7', {
        uri: '/lc/redis', upstream: { nodes: { [up.node]: 1 } },
        plugins: { 'limit-count': { count: 1, time_window: 60, policy: 'redis-cluster', redis_cluster_nodes: ['127.0.0.1:7000'], redis_cluster_name: 'c' } },
      });
      assert.equal(res.status, 400);
      assert.match((res.json as { error_msg: string }).error_msg, /policy "redis-cluster" is not supported by fngate yet/);
    });
  });
});

describe('limits across two workers', () => {
  let gw: GatewayProcess;
  let up: TestUpstream;
  /** The worker (pid) behind each request of the counted routes: `$request_id` starts with the worker's pid in hex. */
  const workers: string[] = [];
  const clients: Client[] = [];
  /** One keep-alive connection to each worker, opened once. */
  let pair: Client[] | undefined;
  const workerHeader = { 'proxy-rewrite': { headers: { set: { 'X-Request-Id': '$request_id' } } } };

  before(async () => {
    // Answers with the worker that proxied the request, so a client can tell which worker holds its connection.
    up = await startUpstream('up', (req, res) => {
      const worker = String(req.headers['x-request-id'] ?? '').slice(0, -12);
      if (req.url !== '/whoami') workers.push(worker);
      res.end(worker);
    });
    gw = await startGatewayProcess({ config: { nginx_config: { worker_processes: 2 } } });
    await putRoute(gw, 'whoami', { uri: '/whoami', upstream: { nodes: { [up.node]: 1 } }, plugins: workerHeader }, '/whoami');
    // Both workers must have the route: a 404 from either fails the probes.
    await waitFor(async () => {
      for (let i = 0; i < 6; i++) if ((await get(gw, '/whoami', {}, true)).status !== 200) return false;
      return true;
    }, { what: 'route on both workers' });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await gw.stop();
    gw.cleanup();
    await up.close();
  });

  /**
   * One keep-alive connection to each worker. The kernel hands new connections to
   * whichever worker accepts first, often the same one many times in a row, so
   * connections are opened until both workers have answered on one.
   */
  async function connectionPerWorker(): Promise<Client[]> {
    if (pair !== undefined) return pair;
    const byWorker = new Map<string, Client>();
    for (let attempt = 0; attempt < 200 && byWorker.size < 2; attempt++) {
      const client = new Client(gw.proxyUrl, { keepAliveTimeout: 30_000 });
      clients.push(client);
      const res = await client.request({ path: '/whoami', method: 'GET' });
      const worker = await res.body.text();
      assert.equal(res.statusCode, 200, worker);
      if (!byWorker.has(worker)) byWorker.set(worker, client);
    }
    assert.equal(byWorker.size, 2, 'no connection reached the second worker in 200 attempts');
    pair = [...byWorker.values()];
    return pair;
  }

  /** PUT a route and wait until both workers serve it (on their own connections). */
  async function putOnBoth(id: string, body: Record<string, unknown>): Promise<Client[]> {
    const clientsByWorker = await connectionPerWorker();
    const put = await adminRequest(gw, 'PUT', `/apisix/admin/routes/${id}`, body);
    assert.ok(put.status === 200 || put.status === 201, put.text);
    for (const client of clientsByWorker) {
      await waitFor(async () => {
        const res = await client.request({ path: body.uri as string, method: 'GET', headers: { 'x-who': `probe-${id}-${Math.random()}` } });
        await res.body.dump();
        return res.statusCode !== 404;
      }, { what: `route ${id} on a worker` });
    }
    return clientsByWorker;
  }

  test('limit-count: the count is exact when both workers serve the requests', async () => {
    const [a, b] = await putOnBoth('lcw', {
      uri: '/lcw',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: { 'limit-count': { count: 30, time_window: 60, key: 'http_x_who' }, ...workerHeader },
    });
    workers.length = 0;
    const statuses: number[] = [];
    // Alternate between the workers' connections: each worker serves half of the allowed requests.
    for (let i = 0; i < 40; i++) {
      const res = await (i % 2 === 0 ? a! : b!).request({ path: '/lcw', method: 'GET', headers: { 'x-who': 'exact' } });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [...Array<number>(30).fill(200), ...Array<number>(10).fill(503)]);
    assert.equal(workers.length, 30);
    assert.equal(new Set(workers).size, 2, `allowed requests were all served by one worker: ${workers.join(',')}`);
  });

  test('limit-req: one node-wide bucket, whichever worker takes the request', async () => {
    const [a, b] = await putOnBoth('lrw', {
      uri: '/lrw',
      upstream: { nodes: { [up.node]: 1 } },
      plugins: { 'limit-req': { rate: 1, burst: 0, key: 'http_x_who', rejected_code: 503 }, ...workerHeader },
    });
    const hit = async (client: Client) => {
      const res = await client.request({ path: '/lrw', method: 'GET', headers: { 'x-who': 'bucket' } });
      await res.body.dump();
      return res.statusCode;
    };
    assert.equal(await hit(a!), 200);
    // Per-worker buckets would let this one through: it is the other worker's first request.
    assert.equal(await hit(b!), 503);
    assert.equal(await hit(a!), 503);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await hit(b!), 200, 'the bucket drains at the rate');
  });
});
