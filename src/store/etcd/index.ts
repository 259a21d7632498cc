/**
 * The etcd backend of the config store (APISIX's keyspace on etcd v3.4+).
 */
export { EtcdStore, openEtcdStore, RANGE_PAGE_SIZE, type EtcdStoreOptions } from './store.js';
export { EtcdServerError, EtcdTransportError, EtcdConfigError } from './errors.js';
