/**
 * What a plugin derives from its configuration (compiled patterns, frozen
 * verdicts, header names) is built once per configuration object, on its
 * first request, and dropped with it: the registry hands every request of
 * one configuration version the same object, and a new version is a new
 * object.
 */

/**
 * Memoize `compile` per configuration object.
 *
 * @example
 *   const compiled = compiledPerConf((conf: UriBlockerConf) => ({ rules: conf.block_rules.map(toRegExp) }));
 *   access(conf, ctx) { const c = compiled(conf); ... }
 */
export function compiledPerConf<Conf extends object, Compiled>(compile: (conf: Conf) => Compiled): (conf: Conf) => Compiled {
  const cache = new WeakMap<Conf, Compiled>();
  return (conf) => {
    let compiled = cache.get(conf);
    if (compiled === undefined) {
      compiled = compile(conf);
      cache.set(conf, compiled);
    }
    return compiled;
  };
}
