/**
 * Header names and values that plugins write from configuration: the
 * checks APISIX applies when a configuration is written
 * (`core.utils.validate_header_field` / `validate_header_value`), and the
 * conversion of a value computed at request time into bytes Node will send.
 */

/** A visible ASCII character other than `:` (APISIX's rule for header names in plugin confs). */
function isFieldChar(code: number): boolean {
  return code > 32 && code < 127 && code !== 58;
}

/**
 * RFC 9110 §5.6.2 token characters: what Node and undici accept in a
 * header name. Stricter than APISIX's rule (which lets `(`, `/`, `"` ...
 * through and fails later in nginx), so a bad name is refused at write time
 * instead of failing every request.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** APISIX's header-name check plus the token rule; `false` when the name cannot be sent. */
export function isValidHeaderName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!isFieldChar(name.charCodeAt(i))) return false;
  return TOKEN.test(name);
}

/** APISIX's header-value check: no control character and nothing beyond ASCII in a configured value. */
export function isValidHeaderValue(value: string | number): boolean {
  if (typeof value !== 'string') return true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 32 || code >= 127) return false;
  }
  return true;
}

/**
 * What is wrong with a configured header map (name → value), or undefined
 * when every name and value can be sent.
 *
 * @example headerMapProblem({ 'X A': '1' }) // 'invalid header name: X A'
 */
export function headerMapProblem(headers: Readonly<Record<string, string | number>> | undefined): string | undefined {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!isValidHeaderName(name)) return `invalid header name: ${name}`;
    if (!isValidHeaderValue(value)) return `invalid value of header ${name}`;
  }
  return undefined;
}

// Control characters (HTAB aside) and DEL would split or corrupt the header line.
const UNSAFE_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A value built at request time (from variables, captures) made safe to
 * send: control characters are percent-encoded as OpenResty does when a
 * header is set from Lua (no response splitting through a variable), and
 * non-ASCII text is sent as its UTF-8 bytes, as nginx sends it.
 *
 * @example
 *   toHeaderValue('a\r\nb'); // 'a%0D%0Ab'
 */
export function toHeaderValue(value: string): string {
  let out = value;
  UNSAFE_CONTROL.lastIndex = 0;
  if (UNSAFE_CONTROL.test(out)) {
    out = out.replace(UNSAFE_CONTROL, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  }
  // Node writes header strings as latin1: hand it the UTF-8 bytes one per character.
  if (NON_ASCII.test(out)) out = Buffer.from(out, 'utf8').toString('latin1');
  return out;
}
