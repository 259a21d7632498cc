import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigStore } from '../../src/store/types.js';
import { openEmbeddedStore } from '../../src/store/embedded/store.js';
import { runStoreContract } from '../contract/store.contract.js';

runStoreContract('EmbeddedStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fngate-embedded-contract-'));
  const opened: ConfigStore[] = [await openEmbeddedStore({ dir })];
  return {
    store: opened[0] as ConfigStore,
    reopen: async () => {
      const store = await openEmbeddedStore({ dir });
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}, { persistent: true });
