/**
 * Directory markers: APISIX's `init_etcd` writes `<prefix>/<dir>/` with the
 * raw value `init_dir` for every resource directory (spec/config.md §5.1).
 * The Admin API needs them — listing a directory that has neither objects
 * nor a marker is a 404 — and APISIX tooling expects them, so fngate
 * creates the missing ones whenever it starts on a writable store.
 */
import { APISIX_DIRECTORIES, INIT_DIR_VALUE, directoryKey } from '../resources/keys.js';
import { CasConflictError, type ConfigStore } from '../store/types.js';

/**
 * Create the missing markers; existing keys are left untouched (a marker is
 * only written where the key is absent, so restarts do not bump revisions).
 *
 * @example
 *   if (!store.readOnly) await initStoreDirectories(store, '/apisix');
 */
export async function initStoreDirectories(store: ConfigStore, prefix: string): Promise<void> {
  for (const dir of APISIX_DIRECTORIES) {
    const key = directoryKey(prefix, dir);
    if ((await store.get(key)) !== undefined) continue;
    try {
      await store.put(key, INIT_DIR_VALUE, { ifModRevision: 0 });
    } catch (err) {
      // Another process created it between the read and the write: fine.
      if (!(err instanceof CasConflictError)) throw err;
    }
  }
}
