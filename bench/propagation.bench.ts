/**
 * How long a configuration change takes to reach another node: two fngate
 * nodes on one real etcd; an Admin write on node A, then node B is polled
 * (every 2 ms, on fresh connections) until it serves the change. Reports
 * the median and spread over 20 writes.
 *
 *   npm run build && node --import tsx bench/propagation.bench.ts
 */
import { request } from 'undici';
import { adminRequest, startGatewayProcess } from '../test/helpers/gateway-process.js';
import { startUpstream } from '../test/helpers/net.js';
import { startEtcd } from '../test/helpers/etcd.js';

const WRITES = 20;

const etcd = await startEtcd();
const [one, two] = await Promise.all([startUpstream('one'), startUpstream('two')]);
const config = {
  deployment: { role_traditional: { config_provider: 'etcd' }, etcd: { host: [etcd.url], prefix: '/apisix', timeout: 3 } },
  nginx_config: { worker_processes: 1 },
  fngate: { log_level: 'warn' },
};
const a = await startGatewayProcess({ config });
const b = await startGatewayProcess({ config });
try {
  const samples: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const target = i % 2 === 0 ? one : two;
    const started = performance.now();
    const put = await adminRequest(a, 'PUT', '/apisix/admin/routes/p', { uri: '/p', upstream: { nodes: { [target.node]: 1 } } });
    if (put.status !== 200 && put.status !== 201) throw new Error(`write failed: ${put.status} ${put.text}`);
    for (;;) {
      const res = await request(`${b.proxyUrl}/p`, { reset: true });
      const body = await res.body.text();
      if (res.statusCode === 200 && body.includes(`"name":"${target === one ? 'one' : 'two'}"`)) break;
      if (performance.now() - started > 10_000) throw new Error('node B did not converge within 10 s');
      await new Promise((r) => setTimeout(r, 2));
    }
    samples.push(performance.now() - started);
  }
  samples.sort((x, y) => x - y);
  const median = samples[Math.floor(samples.length / 2)] as number;
  console.log(`write on node A → served by node B, ${WRITES} writes (ms, includes the Admin write itself):`);
  console.log(`  median ${median.toFixed(1)}  min ${(samples[0] as number).toFixed(1)}  max ${(samples.at(-1) as number).toFixed(1)}`);
} finally {
  await Promise.all([a.stop(), b.stop()]);
  a.cleanup();
  b.cleanup();
  await Promise.all([one.close(), two.close(), etcd.destroy()]);
}
