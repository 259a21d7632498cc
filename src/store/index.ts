/**
 * The dynamic-configuration store: one interface ({@link ConfigStore}, etcd v3
 * semantics) and its local backends. The etcd backend lives beside these.
 */
export * from './types.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { EmbeddedStore, openEmbeddedStore, type EmbeddedStoreOptions } from './embedded/store.js';
export { StoreLockedError } from './embedded/lock.js';
export {
  StandaloneFileStore,
  openStandaloneFileStore,
  StandaloneConfigError,
  type StandaloneFileStoreOptions,
} from './standalone-file.js';
export { EtcdStore, openEtcdStore, EtcdServerError, EtcdTransportError, EtcdConfigError, type EtcdStoreOptions } from './etcd/index.js';
