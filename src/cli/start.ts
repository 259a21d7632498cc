/**
 * `fngate start -c <file>`: run the gateway in the foreground.
 *
 * Configuration problems end the process with a one-line message naming the
 * key, never a stack trace. The primary process then runs the node
 * (src/cluster/primary.ts): SIGTERM / SIGINT start a graceful stop (drain
 * in-flight requests, bounded by `nginx_config.worker_shutdown_timeout`); a
 * second signal exits at once.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { resolveAdminKeys } from '../config/admin-key.js';
import { createLogger } from '../log.js';
import { runPrimary } from '../cluster/primary.js';
import { errorMessage } from '../errors.js';

/** Returns the process exit code once the gateway has stopped (or failed to start). */
export async function runStart(file: string): Promise<number> {
  const path = resolve(file);
  let config;
  try {
    config = await loadConfig(path);
  } catch (err) {
    console.error(`fngate: ${errorMessage(err)}`);
    return 1;
  }
  const logger = createLogger({ level: config.fngate.log_level });

  try {
    const resolved = await resolveAdminKeys(config, logger);
    config = resolved.config;
    if (resolved.generated) {
      // Printed once, on the start that created it; later starts read it from the data dir.
      console.log(
        `fngate: generated an Admin API key (stored in ${config.fngate.data_dir}/admin_key, shown only now):\n` +
        `  ${resolved.generated}\n` +
        'Use it as the X-API-KEY header, or set deployment.admin.admin_key in config.yaml.',
      );
    }
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'cannot prepare the Admin API key');
    return 1;
  }

  return runPrimary({ config, logger });
}
