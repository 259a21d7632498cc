/**
 * One pino logger for the process; modules take a child with their own
 * `module` binding. Secrets never reach a log line: plugin configs are logged
 * through the redaction paths below, and plugins mark their own secret fields.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'headers["x-api-key"]',
  'headers.authorization',
  'admin_key[*].key',
  '*.service_token',
  '*.apikey',
  '*.secretkey',
  '*.password',
];

/**
 * @example
 *   const log = createLogger({ level: 'info' }).child({ module: 'store' });
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env.FNGATE_LOG_LEVEL ?? (process.env.FNGATE_TEST ? 'warn' : 'info');
  return pino({
    name: options.name ?? 'fngate',
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  });
}

/** A logger that drops everything, for unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
