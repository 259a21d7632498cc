/**
 * `fngate start -c <file>`: run the gateway in the foreground.
 *
 * Configuration problems end the process with a one-line message naming the
 * key, never a stack trace. SIGTERM / SIGINT start a graceful stop (drain
 * in-flight requests, bounded by `nginx_config.worker_shutdown_timeout`); a
 * second signal exits at once.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { resolveAdminKeys } from '../config/admin-key.js';
import { createLogger } from '../log.js';
import { startGateway } from '../gateway.js';
import { FngateError, errorMessage } from '../errors.js';

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

  let gateway;
  try {
    gateway = await startGateway({ config, logger });
  } catch (err) {
    // Expected failures (port in use, store locked, bad provider) get one clear line.
    const known = err instanceof FngateError || (err as NodeJS.ErrnoException).code !== undefined;
    if (known) logger.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'fngate failed to start');
    else logger.fatal({ err }, 'fngate failed to start');
    return 1;
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      gateway.close().then(
        () => resolveExit(0),
        (err: unknown) => {
          logger.error({ err: errorMessage(err) }, 'error during shutdown');
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
