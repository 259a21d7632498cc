/**
 * The shared ConfigStore contract against a real etcd. The contract asserts
 * exact revisions, which are global in etcd, so every `open()` starts a fresh
 * etcd (tens of milliseconds with the helper's raft timers); `reopen` connects
 * a new client to the same server.
 */
import type { ConfigStore } from '../../src/store/types.js';
import { openEtcdStore } from '../../src/store/etcd/store.js';
import { runStoreContract } from '../contract/store.contract.js';
import { startEtcd } from '../helpers/etcd.js';

runStoreContract('EtcdStore', async () => {
  const etcd = await startEtcd();
  const opened: ConfigStore[] = [];
  const open = async (): Promise<ConfigStore> => {
    const store = await openEtcdStore({ config: etcd.config() });
    opened.push(store);
    return store;
  };
  try {
    return {
      store: await open(),
      reopen: open,
      cleanup: async () => {
        for (const store of opened) await store.close();
        await etcd.destroy();
      },
    };
  } catch (err) {
    await etcd.destroy();
    throw err;
  }
}, { persistent: true });
