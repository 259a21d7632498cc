/**
 * `$var` interpolation in configuration strings, as APISIX's
 * `core.utils.resolve_var` does it for plugin settings such as
 * proxy-rewrite's `uri` and header values or limit-count's `key`:
 *
 * - `$name` takes the longest run of `[A-Za-z0-9_.]` as the variable name
 *   (so `$post_arg.user` works, and `$host.` reads a variable named `host.`);
 * - `${name}` delimits the name, surrounding blanks ignored;
 * - `${name ?? fallback}` uses `fallback` when the variable has no value;
 * - a `$` right after a backslash is left alone (the backslash stays too);
 * - a variable without a value becomes the empty string.
 *
 * With `captures: true` (proxy-rewrite headers), `$1` / `${1}` refer to the
 * groups of the `regex_uri` match instead (APISIX's
 * `resolve_var_with_captures`). Templates are parsed once, at configuration
 * time; rendering is a loop over the parsed parts.
 */
import { luaToString } from '../../resources/lua-text.js';

/** Where variables are read from: `ctx.var`, or any name → value record. */
export type VarSource = Readonly<Record<string, unknown>>;

interface VarPart {
  readonly name: string;
  /** `${name ?? fallback}`: the text used when the variable has no value. */
  readonly fallback: string | undefined;
}

/** A reference to group `index` of the regex match (0 = the whole match). */
interface CapturePart {
  readonly capture: number;
}

type Part = string | VarPart | CapturePart;

const VAR_REFERENCE = /(?<!\\)\$(?:\{\s*([^}]+?)\s*\}|([\w.]+))/g;
const VAR_OR_CAPTURE_REFERENCE = /(?<!\\)\$(?:\{?(\d+)\}?|\{\s*([^}]+?)\s*\}|([\w.]+))/g;
const FALLBACK_SEPARATOR = /\s*\?\?\s*/;

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null;
}

function varPart(reference: string): VarPart {
  const [name = '', fallback] = reference.split(FALLBACK_SEPARATOR);
  return { name, fallback };
}

/**
 * A parsed template. `render*` never throw; a template without references
 * renders as its source text without any work.
 *
 * @example
 *   const t = compileVarTemplate('/api/$arg_version/${http_x_user ?? anonymous}');
 *   t.render({ arg_version: 'v2' }); // '/api/v2/anonymous'
 */
export class VarTemplate {
  /** False when the text contains no reference: `render()` returns it as is. */
  readonly dynamic: boolean;

  constructor(readonly source: string, private readonly parts: readonly Part[]) {
    this.dynamic = parts.some((p) => typeof p !== 'string');
  }

  /**
   * The text with every reference replaced. `escape` is applied to values
   * read from variables and captures (not to the template's own text).
   */
  render(vars: VarSource, escape?: (value: string) => string, captures?: ArrayLike<string | undefined>): string {
    if (!this.dynamic) return this.source;
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') out += part;
      else out += this.#value(part, vars, escape, captures) ?? '';
    }
    return out;
  }

  /**
   * Like `render`, but undefined when no variable had a value (APISIX's
   * `n_resolved == 0`): limit-count then falls back to the client address.
   */
  renderIfResolved(vars: VarSource): string | undefined {
    let out = '';
    let resolved = 0;
    for (const part of this.parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const value = this.#value(part, vars, undefined, undefined);
      if (value !== undefined) {
        resolved++;
        out += value;
      }
    }
    return resolved === 0 ? undefined : out;
  }

  #value(part: VarPart | CapturePart, vars: VarSource, escape: ((value: string) => string) | undefined, captures: ArrayLike<string | undefined> | undefined): string | undefined {
    if ('capture' in part) {
      // A group that did not take part (or no regex_uri match at all) is empty, as in APISIX.
      const text = captures?.[part.capture];
      return text === undefined ? undefined : escape ? escape(text) : text;
    }
    const value = vars[part.name];
    if (isEmpty(value)) return part.fallback;
    const text = luaToString(value);
    return escape ? escape(text) : text;
  }
}

/**
 * Parse `template` once.
 *
 * @example
 *   compileVarTemplate('$remote_addr $http_x_id').render(ctx.var);
 *   compileVarTemplate('v-$1', { captures: true }).render(ctx.var, undefined, match);
 */
export function compileVarTemplate(template: string, options: { captures?: boolean } = {}): VarTemplate {
  const parts: Part[] = [];
  if (!template.includes('$')) return new VarTemplate(template, [template]);
  const pattern = new RegExp(options.captures ? VAR_OR_CAPTURE_REFERENCE : VAR_REFERENCE);
  let last = 0;
  for (let m = pattern.exec(template); m !== null; m = pattern.exec(template)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    last = m.index + m[0].length;
    if (options.captures) {
      const [, capture, braced, bare] = m;
      if (capture !== undefined) parts.push({ capture: Number(capture) });
      else parts.push(varPart((braced ?? bare) as string));
    } else {
      const [, braced, bare] = m;
      parts.push(varPart((braced ?? bare) as string));
    }
  }
  if (last < template.length) parts.push(template.slice(last));
  return new VarTemplate(template, parts);
}
