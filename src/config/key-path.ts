/** A step into a config document: an object key or an array index. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Render a key path the way users read config.yaml: dotted keys, `[i]` for
 * list items, and quoted brackets for keys that contain dots or spaces
 * (`plugin_attr.opentelemetry.resource["service.name"]`).
 *
 * @example
 *   formatKeyPath(['deployment', 'admin', 'admin_key', 0, 'role']) // 'deployment.admin.admin_key[0].role'
 */
export function formatKeyPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** APISIX's own notation in merge errors: `a->b->c` (spec/config.md §1). */
export function formatArrowPath(segments: readonly PathSegment[]): string {
  return segments.join('->');
}
