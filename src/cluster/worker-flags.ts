/**
 * V8 flags for workers. A proxy allocates a lot of short-lived garbage per
 * request, and V8's defaults mistake some of it for long-lived data (both
 * measured with ../shared/bench's workload):
 *
 * - with the default young generation, the gateway's larger heap made V8
 *   promote that garbage and scavenges took ~5 ms instead of ~1 ms, costing
 *   ~20% throughput;
 * - allocation-site pretenuring watches the first few hundred objects of each
 *   allocation site; when a site's early objects happen to survive (requests
 *   in flight while the first routes compile), V8 allocates all later ones
 *   straight in old space. In about half the starts, a limit-count route then
 *   ran with 9–12 ms scavenges (old space growing ~5 MB per scavenge) and
 *   ~25% fewer requests per second. Without pretenuring, every start behaves
 *   like the good half.
 *
 * Flags the user sets through NODE_OPTIONS or execArgv (either polarity) win.
 */
export const WORKER_V8_FLAGS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'];

/** A V8 flag's name without `--`, `no-` or a value: `--no-foo=1` → `foo`. */
export function v8FlagName(arg: string): string {
  return (arg.replace(/^--?(no-)?/, '').split('=')[0] as string).replaceAll('_', '-');
}

/**
 * The flags from {@link WORKER_V8_FLAGS} that the user did not set already.
 *
 * @example
 *   workerV8Flags(['--allocation-site-pretenuring']); // ['--max-semi-space-size=32']
 */
export function workerV8Flags(present: readonly string[]): string[] {
  const presentNames = new Set(present.filter((arg) => arg.startsWith('-')).map(v8FlagName));
  return WORKER_V8_FLAGS.filter((flag) => !presentNames.has(v8FlagName(flag)));
}
