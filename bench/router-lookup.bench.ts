/**
 * Router lookup micro-benchmark: 10,000 routes (exact paths, prefixes, a
 * deep chain of nested prefixes, host-bound routes, method-bound routes),
 * nanoseconds per `match()` for typical request shapes, and build time.
 *
 *   node --import tsx bench/router-lookup.bench.ts [iterations]
 *
 * Each scenario cycles through 1,024 prepared requests so that the numbers
 * do not come from one hot cache line; a checksum keeps the work observable.
 * Every cell is warmed up, then timed for up to `iterations` lookups or about
 * a quarter of a second, whichever comes first (2 shared CPUs here).
 */
import { createRouter, type RouterKind } from '../src/router/router.js';
import type { MatchInput, RouteEntry, Router } from '../src/router/types.js';

/** Upper bound of lookups per cell; each cell also stops at about CELL_BUDGET_NS of work. */
const ITERATIONS = Number(process.argv[2] ?? 1_000_000);
const CELL_BUDGET_NS = 250e6;
const KINDS: readonly RouterKind[] = ['radixtree_host_uri', 'radixtree_uri', 'radixtree_uri_with_parameter'];
const DEEP = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

function buildRoutes(): RouteEntry<number>[] {
  const routes: RouteEntry<number>[] = [];
  const add = (uris: string[], extra: Partial<RouteEntry<number>> = {}): void => {
    routes.push({ id: String(routes.length), value: routes.length, uris, priority: 0, ...extra });
  };
  for (let i = 0; i < 4000; i++) add([`/svc${i}/items`]);
  for (let i = 0; i < 2000; i++) add([`/svc${i}/*`]);
  for (let i = 0; i < 1000; i++) add([`/svc${i}/v1/orders/*`]);
  for (let i = 0; i < 1000; i++) add([`/api/*`], { hosts: [`t${i}.example.com`] });
  for (let i = 0; i < 1000; i++) add([`/api/*`], { hosts: [`*.w${i}.example.com`] });
  for (let i = 0; i < 992; i++) add([`/m${i}/resource`], { methods: ['POST', 'PUT'] });
  // Nested prefixes: /deep/a/*, /deep/a/b/*, ... so a deep request sees 8 candidates.
  for (let depth = 1; depth <= DEEP.length; depth++) add([`/deep/${DEEP.slice(0, depth).join('/')}/*`]);
  return routes;
}

function input(path: string, host = 'gateway.local', method = 'GET'): MatchInput {
  return { path, method, host, remoteAddr: '127.0.0.1', vars: () => undefined };
}

const SCENARIOS: ReadonlyArray<{ name: string; make: (i: number) => MatchInput; hits: boolean }> = [
  { name: 'exact hit', make: (i) => input(`/svc${i % 4000}/items`), hits: true },
  { name: 'prefix hit', make: (i) => input(`/svc${i % 2000}/things/42`), hits: true },
  { name: 'deep prefix hit', make: (i) => input(`/svc${i % 1000}/v1/orders/${i}/lines/7`), hits: true },
  { name: 'nested prefixes (8 levels)', make: (i) => input(`/deep/${DEEP.join('/')}/file${i}`), hits: true },
  { name: 'host-bound hit (exact host)', make: (i) => input(`/api/v1/users/${i}`, `t${i % 1000}.example.com`), hits: true },
  { name: 'host-bound hit (wildcard)', make: (i) => input(`/api/v1/users/${i}`, `x.w${i % 1000}.example.com`), hits: true },
  { name: 'method-bound hit', make: (i) => input(`/m${i % 992}/resource`, 'gateway.local', 'POST'), hits: true },
  { name: 'miss', make: (i) => input(`/nothing/here/${i}`), hits: false },
];

function time(router: Router<number>, requests: readonly MatchInput[], iterations: number): { ns: number; checksum: number } {
  let checksum = 0;
  const mask = requests.length - 1;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const m = router.match(requests[i & mask] as MatchInput);
    checksum += m === undefined ? -1 : m.value;
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  return { ns: elapsed / iterations, checksum };
}

function main(): void {
  const routes = buildRoutes();
  console.log(`router lookup: ${routes.length} routes, up to ${ITERATIONS.toLocaleString('en-US')} lookups per cell, node ${process.version}\n`);

  const routers = new Map<RouterKind, Router<number>>();
  const buildRows: string[] = [];
  for (const kind of KINDS) {
    createRouter(kind, routes); // warm the build code once
    const start = process.hrtime.bigint();
    routers.set(kind, createRouter(kind, routes));
    buildRows.push(`${kind.padEnd(30)} ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1).padStart(8)} ms`);
  }

  const header = `${'scenario'.padEnd(30)}${KINDS.map((k) => k.padStart(30)).join('')}`;
  console.log(`${header}\n${'-'.repeat(header.length)}`);
  let sink = 0;
  for (const scenario of SCENARIOS) {
    const requests = Array.from({ length: 1024 }, (_, i) => scenario.make(i));
    const cells: string[] = [];
    for (const kind of KINDS) {
      const router = routers.get(kind) as Router<number>;
      // Sanity: the scenario does what its name says on this router.
      const hit = router.match(requests[1] as MatchInput) !== undefined;
      if (hit !== scenario.hits) throw new Error(`${scenario.name} on ${kind}: expected ${scenario.hits ? 'a hit' : 'a miss'}`);
      const estimate = time(router, requests, 20_000).ns;
      const iterations = Math.max(20_000, Math.min(ITERATIONS, Math.round(CELL_BUDGET_NS / estimate)));
      time(router, requests, Math.round(iterations / 4));
      const { ns, checksum } = time(router, requests, iterations);
      sink += checksum;
      cells.push(`${ns.toFixed(0)} ns`.padStart(30));
    }
    console.log(`${scenario.name.padEnd(30)}${cells.join('')}`);
  }
  console.log(`\nbuild time (${routes.length} routes)`);
  for (const row of buildRows) console.log(row);
  if (sink === 0.5) console.log(sink); // keep the checksum observable
}

main();
