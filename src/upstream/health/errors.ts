/** Errors of the health checker. Probe failures are results, not throws; these name why. */
import { FngateError } from '../../errors.js';

/** An active probe got no answer within `checks.active.timeout`. */
export class HealthProbeTimeoutError extends FngateError {
  readonly code = 'HEALTH_PROBE_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`health check probe timed out after ${timeoutMs} ms`);
  }
}
