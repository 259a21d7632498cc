import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr } from './expr.js';
import { createRouter, ROUTER_KINDS, RouteCompileError, type RouterKind } from './router.js';
import type { MatchedInfo, MatchInput, RouteEntry, Router, VarGetter } from './types.js';

type Extra = Partial<Omit<RouteEntry<string>, 'id' | 'value' | 'uris'>>;

/** A route whose payload is its id. */
function route(id: string, uris: string | string[], extra: Extra = {}): RouteEntry<string> {
  return { id, value: id, uris: typeof uris === 'string' ? [uris] : uris, priority: 0, ...extra };
}

function req(path: string, extra: Partial<MatchInput> = {}): MatchInput {
  return { path, method: 'GET', host: 'example.com', remoteAddr: '127.0.0.1', vars: () => undefined, ...extra };
}

function idOf(router: Router<string>, path: string, extra: Partial<MatchInput> = {}): string | undefined {
  return router.match(req(path, extra))?.value;
}

function matchedOf(router: Router<string>, path: string, extra: Partial<MatchInput> = {}): MatchedInfo | undefined {
  return router.match(req(path, extra))?.matched;
}

/** URI semantics shared by every router kind (spec/routing.md §3, §3.1, §3.2, §4). */
for (const kind of ROUTER_KINDS) {
  describe(`${kind}: URI patterns`, () => {
    test('exact path', () => {
      const r = createRouter(kind, [route('1', '/blog/foo')]);
      assert.equal(idOf(r, '/blog/foo'), '1');
      assert.equal(idOf(r, '/blog/foo/'), undefined);
      assert.equal(idOf(r, '/blog/foobar'), undefined);
      assert.equal(idOf(r, '/blog'), undefined);
      assert.deepEqual(matchedOf(r, '/blog/foo'), { _path: '/blog/foo', _method: 'GET' });
    });

    test('`*` last but not a whole segment: plain prefix, no capture', () => {
      const r = createRouter(kind, [route('1', '/blog/bar*')]);
      for (const p of ['/blog/bar', '/blog/bar/a', '/blog/barx']) assert.equal(idOf(r, p), '1', p);
      assert.equal(idOf(r, '/blog/ba'), undefined);
      assert.deepEqual(matchedOf(r, '/blog/bar/a'), { _path: '/blog/bar*', _method: 'GET' });
    });

    test('`/blog/*`: prefix `/blog/` with the rest as :ext', () => {
      const r = createRouter(kind, [route('1', '/blog/*')]);
      assert.deepEqual(matchedOf(r, '/blog/a/b/c'), { _path: '/blog/*', _method: 'GET', ':ext': 'a/b/c' });
      assert.deepEqual(matchedOf(r, '/blog/'), { _path: '/blog/*', _method: 'GET', ':ext': '' });
      assert.equal(idOf(r, '/blog'), undefined);
    });

    test('`/blog/*path`: named capture', () => {
      const r = createRouter(kind, [route('1', '/blog/*path')]);
      assert.deepEqual(matchedOf(r, '/blog/x/y'), { _path: '/blog/*path', _method: 'GET', path: 'x/y' });
      assert.equal(idOf(r, '/blog'), undefined);
    });

    test('`*` in the middle: prefix plus whole-path check', () => {
      const r = createRouter(kind, [route('1', '/a/*/c')]);
      assert.equal(idOf(r, '/a/x/c'), '1');
      assert.deepEqual(matchedOf(r, '/a/x/y/c'), { _path: '/a/*/c', _method: 'GET', ':ext': 'x/y' });
      assert.equal(idOf(r, '/a/x/d'), undefined);
      assert.equal(idOf(r, '/a/x/c/d'), undefined);
    });

    test('`*` alone and `/*` match everything', () => {
      const r = createRouter(kind, [route('all', '*')]);
      assert.deepEqual(matchedOf(r, '/x/y'), { _path: '*', _method: 'GET', ':ext': '/x/y' });
      const root = createRouter(kind, [route('root', '/*')]);
      assert.deepEqual(matchedOf(root, '/'), { _path: '/*', _method: 'GET', ':ext': '' });
      assert.deepEqual(matchedOf(root, '/azure/http/trigger'), { _path: '/*', _method: 'GET', ':ext': 'azure/http/trigger' });
    });

    test('the documented precedence example (router-radixtree.md)', () => {
      const r = createRouter(kind, [
        route('foo', '/blog/foo/*'),
        route('foo-a', '/blog/foo/a/*'),
        route('foo-c', '/blog/foo/c/*'),
        route('foo-bar', '/blog/foo/bar'),
      ]);
      assert.equal(idOf(r, '/blog/foo/bar'), 'foo-bar');
      assert.equal(idOf(r, '/blog/foo/a/b/c'), 'foo-a');
      assert.equal(idOf(r, '/blog/foo/c/d'), 'foo-c');
      assert.equal(idOf(r, '/blog/foo/gloo'), 'foo');
      assert.equal(idOf(r, '/blog/bar'), undefined);
    });

    test('exact beats prefix whatever the priority', () => {
      const r = createRouter(kind, [route('prefix', '/a/*', { priority: 100 }), route('exact', '/a/b')]);
      assert.equal(idOf(r, '/a/b'), 'exact');
      assert.equal(idOf(r, '/a/c'), 'prefix');
    });

    test('a longer prefix beats a shorter one whatever the priority', () => {
      const r = createRouter(kind, [route('short', '/blog/foo/*', { priority: 100 }), route('long', '/blog/foo/a/*')]);
      assert.equal(idOf(r, '/blog/foo/a/x'), 'long');
    });

    test('within one prefix: priority, then longer pattern, then registration order', () => {
      const tie = createRouter(kind, [route('bare', '/blog/*'), route('named', '/blog/*path')]);
      assert.equal(idOf(tie, '/blog/x'), 'named', 'longer pattern first on equal priority');
      const prio = createRouter(kind, [route('bare', '/blog/*', { priority: 1 }), route('named', '/blog/*path')]);
      assert.equal(idOf(prio, '/blog/x'), 'bare');
      const negative = createRouter(kind, [route('bare', '/blog/*'), route('named', '/blog/*path', { priority: -1 })]);
      assert.equal(idOf(negative, '/blog/x'), 'bare');
      const same = createRouter(kind, [route('first', '/blog/*'), route('second', '/blog/*'), route('third', '/blog/*')]);
      assert.equal(idOf(same, '/blog/x'), 'first');
      const bumped = createRouter(kind, [route('first', '/blog/*'), route('second', '/blog/*'), route('third', '/blog/*', { priority: 2 })]);
      assert.equal(idOf(bumped, '/blog/x'), 'third');
    });

    test('on one exact path: priority, then registration order', () => {
      const r = createRouter(kind, [route('a', '/x'), route('b', '/x', { priority: 5 }), route('c', '/x', { priority: 5 })]);
      assert.equal(idOf(r, '/x'), 'b');
      const plain = createRouter(kind, [route('a', '/x'), route('b', '/x')]);
      assert.equal(idOf(plain, '/x'), 'a');
    });

    test('a candidate that fails its conditions lets the search continue, down to shorter prefixes', () => {
      const r = createRouter(kind, [
        route('exact-post', '/a/b/c', { methods: ['POST'] }),
        route('long-put', '/a/b/*', { methods: ['PUT'] }),
        route('long-vars', '/a/b/*', { vars: compileExpr([['arg_v', '==', '1']]) }),
        route('short', '/a/*'),
      ]);
      assert.equal(idOf(r, '/a/b/c', { method: 'POST' }), 'exact-post');
      assert.equal(idOf(r, '/a/b/c', { method: 'PUT' }), 'long-put');
      assert.equal(idOf(r, '/a/b/c', { vars: (n) => (n === 'arg_v' ? '1' : undefined) }), 'long-vars');
      assert.equal(idOf(r, '/a/b/c'), 'short');
    });

    test('a prefix whose whole-path check fails gives way to a shorter prefix', () => {
      const r = createRouter(kind, [route('mid', '/a/*/c'), route('short', '/a*')]);
      assert.equal(idOf(r, '/a/x/c'), 'mid');
      assert.deepEqual(matchedOf(r, '/a/x/d'), { _path: '/a*', _method: 'GET' });
    });

    test('methods: any when absent or empty; otherwise one of the list', () => {
      const r = createRouter(kind, [route('get', '/m', { methods: ['GET', 'HEAD'] }), route('any', '/m', { methods: [] })]);
      assert.equal(idOf(r, '/m', { method: 'HEAD' }), 'get');
      assert.equal(idOf(r, '/m', { method: 'DELETE' }), 'any');
      assert.equal(idOf(r, '/m', { method: 'PROPFIND' }), 'any');
      assert.deepEqual(matchedOf(r, '/m', { method: 'HEAD' }), { _path: '/m', _method: 'HEAD' });
      const only = createRouter(kind, [route('post', '/m', { methods: ['POST'] })]);
      assert.equal(idOf(only, '/m', { method: 'PROPFIND' }), undefined);
    });

    test('remote_addrs: IPs and CIDRs of both families', () => {
      const r = createRouter(kind, [route('inner', '/ip', { remoteAddrs: ['10.0.0.0/8', '::1'] }), route('outer', '/ip', { priority: -1 })]);
      assert.equal(idOf(r, '/ip', { remoteAddr: '10.2.3.4' }), 'inner');
      assert.equal(idOf(r, '/ip', { remoteAddr: '::ffff:10.2.3.4' }), 'inner');
      assert.equal(idOf(r, '/ip', { remoteAddr: '::1' }), 'inner');
      assert.equal(idOf(r, '/ip', { remoteAddr: '11.0.0.1' }), 'outer');
    });

    test('vars and filter_func', () => {
      const r = createRouter(kind, [
        route('vars', '/v', { vars: compileExpr([['http_x_canary', '==', 'yes']]) }),
        route('filter', '/v', { priority: -1, filter: (vars) => vars('arg_name') === 'json' }),
        route('fallback', '/v', { priority: -2 }),
      ]);
      const vars = (values: Record<string, string>): VarGetter => (n) => values[n];
      assert.equal(idOf(r, '/v', { vars: vars({ http_x_canary: 'yes' }) }), 'vars');
      assert.equal(idOf(r, '/v', { vars: vars({ arg_name: 'json' }) }), 'filter');
      assert.equal(idOf(r, '/v'), 'fallback');
    });

    test('conditions run in order methods → remote_addrs → vars → filter → path check', () => {
      const calls: string[] = [];
      const spyVars: VarGetter = (name) => {
        calls.push(`var:${name}`);
        return 'x';
      };
      const r = createRouter(kind, [
        route('1', '/a/*/c', {
          methods: ['GET'],
          remoteAddrs: ['127.0.0.1'],
          vars: compileExpr([['arg_a', '==', 'x']]),
          filter: () => {
            calls.push('filter');
            return true;
          },
        }),
      ]);
      assert.equal(idOf(r, '/a/b/c', { method: 'POST', vars: spyVars }), undefined);
      assert.deepEqual(calls, [], 'nothing evaluated after a method mismatch');
      assert.equal(idOf(r, '/a/b/c', { remoteAddr: '10.0.0.1', vars: spyVars }), undefined);
      assert.deepEqual(calls, [], 'nothing evaluated after an address mismatch');
      assert.equal(idOf(r, '/a/b/d', { vars: spyVars }), undefined);
      assert.deepEqual(calls, ['var:arg_a', 'filter'], 'the path check comes after vars and filter');
    });

    test('every element of uris is registered', () => {
      const r = createRouter(kind, [route('multi', ['/one', '/two/*'])]);
      assert.deepEqual(matchedOf(r, '/one'), { _path: '/one', _method: 'GET' });
      assert.deepEqual(matchedOf(r, '/two/x'), { _path: '/two/*', _method: 'GET', ':ext': 'x' });
      assert.equal(r.size, 1);
    });

    test('an empty router matches nothing', () => {
      const r = createRouter<string>(kind, []);
      assert.equal(idOf(r, '/'), undefined);
      assert.equal(r.size, 0);
    });

    test('invalid remote addresses or methods fail the build with the route id', () => {
      assert.throws(
        () => createRouter(kind, [route('bad-ip', '/x', { remoteAddrs: ['1.2.3.999'] })]),
        (err: unknown) => err instanceof RouteCompileError && err.routeId === 'bad-ip' && err.message === 'route bad-ip: invalid ip address: 1.2.3.999',
      );
      assert.throws(() => createRouter(kind, [route('bad-method', '/x', { methods: ['FETCH'] })]), RouteCompileError);
    });
  });
}

describe('`:name` segments', () => {
  test('default routers treat `:id` literally', () => {
    for (const kind of ['radixtree_uri', 'radixtree_host_uri'] as const) {
      const r = createRouter(kind, [route('1', '/user/:id')]);
      assert.equal(idOf(r, '/user/5'), undefined, kind);
      assert.deepEqual(matchedOf(r, '/user/:id'), { _path: '/user/:id', _method: 'GET' }, kind);
    }
  });

  test('radixtree_uri_with_parameter captures one segment per `:name`', () => {
    const r = createRouter('radixtree_uri_with_parameter', [route('user', '/user/:id'), route('order', '/shop/:shop/order/:order')]);
    assert.deepEqual(matchedOf(r, '/user/5'), { _path: '/user/:id', _method: 'GET', id: '5' });
    assert.equal(idOf(r, '/user/5/x'), undefined);
    assert.equal(idOf(r, '/user/'), undefined);
    assert.deepEqual(matchedOf(r, '/shop/s1/order/o2'), { _path: '/shop/:shop/order/:order', _method: 'GET', shop: 's1', order: 'o2' });
    assert.equal(idOf(r, '/shop/s1/orders/o2'), undefined);
  });

  test('parameters and a trailing `*` combine', () => {
    const r = createRouter('radixtree_uri_with_parameter', [route('files', '/files/:bucket/*')]);
    assert.deepEqual(matchedOf(r, '/files/b1/a/b.txt'), { _path: '/files/:bucket/*', _method: 'GET', bucket: 'b1', ':ext': 'a/b.txt' });
  });

  test('an exact route beats a parameter route on the same path', () => {
    const r = createRouter('radixtree_uri_with_parameter', [route('param', '/user/:id', { priority: 9 }), route('me', '/user/me')]);
    assert.equal(idOf(r, '/user/me'), 'me');
    assert.equal(idOf(r, '/user/you'), 'param');
  });
});

describe('radixtree_host_uri', () => {
  const kind: RouterKind = 'radixtree_host_uri';

  test('a host-bound route beats a host-less one, whatever the URI precedence', () => {
    const r = createRouter(kind, [route('hostless-exact', '/foo', { priority: 100 }), route('host-prefix', '/f*', { hosts: ['a.com'] })]);
    assert.equal(idOf(r, '/foo', { host: 'a.com' }), 'host-prefix');
    assert.equal(idOf(r, '/foo', { host: 'b.com' }), 'hostless-exact');
  });

  test('the exact host beats wildcards; longer wildcard suffixes beat shorter ones', () => {
    const r = createRouter(kind, [
      route('any', '/x', { hosts: ['*'] }),
      route('wild', '/x', { hosts: ['*.foo.com'] }),
      route('deep', '/*', { hosts: ['*.a.foo.com'] }),
      route('exact', '/*', { hosts: ['a.foo.com'] }),
    ]);
    assert.equal(idOf(r, '/x', { host: 'a.foo.com' }), 'exact');
    assert.equal(idOf(r, '/x', { host: 'b.a.foo.com' }), 'deep');
    assert.equal(idOf(r, '/x', { host: 'b.foo.com' }), 'wild');
    assert.equal(idOf(r, '/x', { host: 'foo.com' }), 'any');
  });

  test('when a host entry has no matching route the next one is tried, then the host-less routes', () => {
    const r = createRouter(kind, [
      route('exact-post', '/x', { hosts: ['a.foo.com'], methods: ['POST'] }),
      route('wild', '/x', { hosts: ['*.foo.com'], vars: compileExpr([['arg_w', '==', '1']]) }),
      route('hostless', '/*'),
    ]);
    assert.equal(idOf(r, '/x', { host: 'a.foo.com', method: 'POST' }), 'exact-post');
    assert.equal(idOf(r, '/x', { host: 'a.foo.com', vars: (n) => (n === 'arg_w' ? '1' : undefined) }), 'wild');
    assert.equal(idOf(r, '/x', { host: 'a.foo.com' }), 'hostless');
  });

  test('_host is the request host for an exact entry and the pattern for a wildcard', () => {
    const r = createRouter(kind, [route('exact', '/e', { hosts: ['a.com'] }), route('wild', '/w/*', { hosts: ['*.b.com'] }), route('none', '/n')]);
    assert.deepEqual(matchedOf(r, '/e', { host: 'a.com' }), { _path: '/e', _method: 'GET', _host: 'a.com' });
    assert.deepEqual(matchedOf(r, '/w/1', { host: 'x.b.com' }), { _path: '/w/*', _method: 'GET', _host: '*.b.com', ':ext': '1' });
    assert.deepEqual(matchedOf(r, '/n', { host: 'x.b.com' }), { _path: '/n', _method: 'GET' });
  });

  test('a route with several hosts is reachable through each', () => {
    const r = createRouter(kind, [route('multi', '/m', { hosts: ['a.com', '*.b.com'] })]);
    assert.equal(idOf(r, '/m', { host: 'a.com' }), 'multi');
    assert.equal(idOf(r, '/m', { host: 'x.b.com' }), 'multi');
    assert.equal(idOf(r, '/m', { host: 'c.com' }), undefined);
  });

  test('host entries with a port never equal $host here', () => {
    const r = createRouter(kind, [route('port', '/p', { hosts: ['a.com:8080'] })]);
    assert.equal(idOf(r, '/p', { host: 'a.com', vars: (n) => (n === 'http_host' ? 'a.com:8080' : undefined) }), undefined);
  });
});

describe('radixtree_uri', () => {
  const kind: RouterKind = 'radixtree_uri';

  test('hosts are a condition: URI precedence decides between host-bound and host-less routes', () => {
    const r = createRouter(kind, [route('hostless-exact', '/foo'), route('host-prefix', '/f*', { hosts: ['a.com'] })]);
    assert.equal(idOf(r, '/foo', { host: 'a.com' }), 'hostless-exact');
    assert.equal(idOf(r, '/fa', { host: 'a.com' }), 'host-prefix');
    assert.equal(idOf(r, '/fa', { host: 'b.com' }), undefined);
  });

  test('on equal keys priority decides, not host specificity', () => {
    const r = createRouter(kind, [route('wild', '/x', { hosts: ['*.foo.com'], priority: 1 }), route('exact', '/x', { hosts: ['a.foo.com'] })]);
    assert.equal(idOf(r, '/x', { host: 'a.foo.com' }), 'wild');
    assert.deepEqual(matchedOf(r, '/x', { host: 'a.foo.com' }), { _path: '/x', _method: 'GET', _host: '*.foo.com' });
  });

  test('_host is reported only for routes with hosts', () => {
    const r = createRouter(kind, [route('h', '/h', { hosts: ['a.com', '*.b.com'] }), route('n', '/n')]);
    assert.deepEqual(matchedOf(r, '/h', { host: 'a.com' }), { _path: '/h', _method: 'GET', _host: 'a.com' });
    assert.deepEqual(matchedOf(r, '/h', { host: 'z.b.com' }), { _path: '/h', _method: 'GET', _host: '*.b.com' });
    assert.deepEqual(matchedOf(r, '/n', { host: 'a.com' }), { _path: '/n', _method: 'GET' });
  });

  test('many routes on one key differing by host: the first winner is the same as a full scan', () => {
    const routes: RouteEntry<string>[] = [];
    for (let i = 0; i < 40; i++) routes.push(route(`t${i}`, '/api/*', { hosts: [`t${i}.com`], priority: i % 3, methods: i % 4 === 0 ? ['POST'] : undefined }));
    routes.push(route('wild', '/api/*', { hosts: ['*.com'], priority: 1 }));
    routes.push(route('any', '/api/*path'));
    routes.push(route('multi', '/api/*', { hosts: ['t7.com', 'm.com'], priority: 2 }));
    routes.push(route('port', '/api/*', { hosts: ['t9.com:8080'], priority: 5 }));
    const r = createRouter(kind, routes);
    // Reference: stable order by priority then pattern length, first route whose conditions hold.
    const ordered = routes.map((entry, i) => ({ entry, i })).sort((a, b) => b.entry.priority - a.entry.priority || (b.entry.uris[0]?.length ?? 0) - (a.entry.uris[0]?.length ?? 0) || a.i - b.i);
    const hostOk = (hosts: readonly string[] | undefined, host: string, httpHost: string): boolean =>
      hosts === undefined || hosts.some((h) => (h.startsWith('*') ? host.endsWith(h.slice(1)) : (h.includes(':') ? httpHost : host) === h));
    for (const host of ['t0.com', 't7.com', 't9.com', 't13.com', 'm.com', 'x.org', 't39.com']) {
      for (const method of ['GET', 'POST']) {
        const httpHost = host === 't9.com' ? 't9.com:8080' : host;
        const expected = ordered.find(({ entry }) => (entry.methods === undefined || entry.methods.includes(method)) && hostOk(entry.hosts, host, httpHost))?.entry.id;
        const vars: VarGetter = (n) => (n === 'http_host' ? httpHost : undefined);
        assert.equal(idOf(r, '/api/x', { host, method, vars }), expected, `${method} ${host}`);
      }
    }
  });

  test('host entries with a port are compared with the Host header', () => {
    const r = createRouter(kind, [route('port', '/p', { hosts: ['a.com:8080'] })]);
    const withHeader = (h: string): VarGetter => (n) => (n === 'http_host' ? h : undefined);
    assert.equal(idOf(r, '/p', { host: 'a.com', vars: withHeader('a.com:8080') }), 'port');
    assert.equal(idOf(r, '/p', { host: 'a.com', vars: withHeader('a.com') }), undefined);
  });
});

describe('scale', () => {
  test('10,000 routes build quickly and still answer exactly', () => {
    const routes: RouteEntry<string>[] = [];
    for (let i = 0; i < 5000; i++) routes.push(route(`e${i}`, `/svc${i}/items`));
    for (let i = 0; i < 4000; i++) routes.push(route(`p${i}`, `/svc${i}/*`));
    for (let i = 0; i < 1000; i++) routes.push(route(`h${i}`, `/api/*`, { hosts: [`t${i}.example.com`] }));
    for (const kind of ROUTER_KINDS) {
      const started = performance.now();
      const r = createRouter(kind, routes);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2000, `${kind} built in ${elapsed.toFixed(0)} ms`);
      assert.equal(r.size, 10_000);
      assert.equal(idOf(r, '/svc4999/items'), 'e4999');
      assert.equal(idOf(r, '/svc3999/items/x'), 'p3999');
      assert.equal(idOf(r, '/svc4500/x'), undefined);
      assert.equal(idOf(r, '/api/v1', { host: 't777.example.com' }), 'h777');
      assert.equal(idOf(r, '/api/v1', { host: 'nobody.example.com' }), undefined);
    }
  });
});
