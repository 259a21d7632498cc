/**
 * A JSON value written as XML, the way APISIX's mocking plugin does it with
 * xml2lua's `toXml(value, "data")`: one root element, an element per object
 * key, an array as its key's element repeated, one element per line
 * indented by two spaces. Text and names are escaped; nothing else (no
 * declaration, no attributes).
 */

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function write(lines: string[], name: string, value: unknown, depth: number): void {
  if (value === undefined) return;
  const indent = '  '.repeat(depth);
  const tag = escapeText(name);
  if (Array.isArray(value)) {
    // Lua tables know no difference between a list under a key and repeated keys: xml2lua repeats the element.
    for (const item of value) write(lines, name, item, depth);
    return;
  }
  if (isObject(value)) {
    lines.push(`${indent}<${tag}>`);
    for (const [key, item] of Object.entries(value)) write(lines, key, item, depth + 1);
    lines.push(`${indent}</${tag}>`);
    return;
  }
  lines.push(`${indent}<${tag}>${value === null ? '' : escapeText(String(value))}</${tag}>`);
}

/**
 * @example
 *   toXml({ id: 1, tags: ['a', 'b'] }, 'data');
 *   // '<data>\n  <id>1</id>\n  <tags>a</tags>\n  <tags>b</tags>\n</data>\n'
 */
export function toXml(value: unknown, root: string): string {
  const lines: string[] = [];
  if (isObject(value)) {
    lines.push(`<${escapeText(root)}>`);
    for (const [key, item] of Object.entries(value)) write(lines, key, item, 1);
    lines.push(`</${escapeText(root)}>`);
  } else if (Array.isArray(value)) {
    lines.push(`<${escapeText(root)}>`);
    for (const item of value) write(lines, 'item', item, 1);
    lines.push(`</${escapeText(root)}>`);
  } else {
    write(lines, root, value, 0);
  }
  return `${lines.join('\n')}\n`;
}
