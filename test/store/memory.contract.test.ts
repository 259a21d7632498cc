import { MemoryStore } from '../../src/store/memory.js';
import { runStoreContract } from '../contract/store.contract.js';

runStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
}, { persistent: false });
