import { FngateError } from '../../errors.js';

/**
 * The standalone configuration file (apisix.yaml / apisix.json) cannot be
 * used: unreadable, no `#END` flag, a missing environment variable, bad YAML
 * or JSON. At open this fails the start; on a reload the previous
 * configuration stays in force.
 */
export class StandaloneConfigError extends FngateError {
  readonly code = 'STORE_STANDALONE_INVALID';
}
