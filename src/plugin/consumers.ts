/**
 * Consumers as auth plugins look them up: for one plugin name, every
 * consumer and every credential that configures it (spec/plugins.md §4,
 * spec/admin-api.md §6.4–6.5). Built lazily once per snapshot and plugin,
 * so a lookup per request is an array (or the plugin's own index over it).
 */
import type { Snapshot } from '../snapshot/snapshot.js';
import type { LoadedItem } from '../snapshot/config-state.js';
import type { Consumer, ConsumerEntry } from '../pdk/context.js';
import { parseCredentialId } from '../resources/keys.js';

export interface ConsumerDirectory {
  /** Entries configuring `pluginName`: consumers first, then credentials, each in key order. */
  with(pluginName: string): readonly ConsumerEntry[];
  /** A consumer by username. */
  consumer(username: string): Consumer | undefined;
  /** A consumer by username as an entry with an empty conf (one object per consumer, cached). */
  entry(username: string): ConsumerEntry | undefined;
}

const directories = new WeakMap<Snapshot, ConsumerDirectory>();

type PluginConfs = Record<string, Record<string, unknown>>;

function toConsumer(item: LoadedItem): Consumer {
  const v = item.value;
  return {
    username: String(v.username ?? item.id),
    plugins: (v.plugins ?? {}) as PluginConfs,
    ...(v.group_id !== undefined ? { group_id: String(v.group_id) } : {}),
    ...(typeof v.labels === 'object' && v.labels !== null ? { labels: v.labels as Record<string, string> } : {}),
    ...(typeof v.desc === 'string' ? { desc: v.desc } : {}),
    modifiedIndex: item.modRevision,
  };
}

/**
 * The directory of a snapshot (created on first use, kept as long as the snapshot).
 *
 * @example
 *   consumerDirectory(snapshot).with('key-auth') // [{ consumer, conf: { key: '...' } }, ...]
 */
export function consumerDirectory(snapshot: Snapshot): ConsumerDirectory {
  let directory = directories.get(snapshot);
  if (directory) return directory;
  const consumers = new Map<string, Consumer>();
  for (const item of snapshot.consumers.values()) {
    const consumer = toConsumer(item);
    consumers.set(consumer.username, consumer);
  }
  const byPlugin = new Map<string, ConsumerEntry[]>();
  const byName = new Map<string, ConsumerEntry>();
  directory = {
    consumer: (username) => consumers.get(username),
    entry(username) {
      let entry = byName.get(username);
      if (entry) return entry;
      const consumer = consumers.get(username);
      if (!consumer) return undefined;
      entry = { consumer, conf: {} };
      byName.set(username, entry);
      return entry;
    },
    with(pluginName) {
      let entries = byPlugin.get(pluginName);
      if (entries) return entries;
      entries = [];
      for (const consumer of consumers.values()) {
        const conf = consumer.plugins[pluginName];
        if (conf) entries.push({ consumer, conf });
      }
      for (const item of snapshot.credentials.values()) {
        const conf = (item.value.plugins as PluginConfs | undefined)?.[pluginName];
        const ids = parseCredentialId(item.id);
        const owner = ids && consumers.get(ids.username);
        if (!conf || !ids || !owner) continue;
        // The credential's revision also versions the identity (cache keys downstream).
        entries.push({
          consumer: { ...owner, modifiedIndex: Math.max(owner.modifiedIndex, item.modRevision) },
          conf,
          credentialId: ids.id,
        });
      }
      byPlugin.set(pluginName, entries);
      return entries;
    },
  };
  directories.set(snapshot, directory);
  return directory;
}
