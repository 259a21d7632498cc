/**
 * `ngx.re.sub` / `ngx.re.gsub` as APISIX plugins use them (proxy-rewrite's
 * `regex_uri`, response-rewrite's `filters`): PCRE patterns with ngx.re
 * option letters, and replacement templates where `$0` is the whole match,
 * `$1` / `${1}` a group and `$$` a literal dollar.
 *
 * Patterns go through the router's PCRE translation (`compilePcre`), so
 * the dialect is the one route `vars` accept. Everything is compiled when
 * the configuration loads; a substitution is an `exec` loop.
 */
import { FngateError } from '../../errors.js';
import { compilePcre, PcreError } from '../../router/pcre.js';

/** A replacement template `ngx.re.sub` would refuse. */
export class ReplacementTemplateError extends FngateError {
  readonly code = 'PLUGIN_INVALID_REPLACEMENT';
}

/** Literal text, or the index of a group to insert. */
export type Replacement = readonly (string | number)[];

/** ngx.re option letters that do not change what a pattern matches in JavaScript. */
const NEUTRAL_OPTIONS = new Set(['j', 'o', 'u', 'U', 'D', 'J']);

/**
 * Compile `pattern` with ngx.re `options` (`"jo"`, `"i"`, `"s"`, ...).
 * `global` prepares it for `gsub`. Throws `PcreError` for a pattern or an
 * option JavaScript cannot honour (`x`, `d`) or that does not exist.
 *
 * @example
 *   const re = compileNgxRegex('hello', 'jo', true);
 *   replaceMatches('hello hello', re, compileReplacement('bye'), true); // 'bye bye'
 */
export function compileNgxRegex(pattern: string, options: string, global: boolean): RegExp {
  let caseless = false;
  let inline = '';
  let sticky = false;
  for (const flag of options) {
    if (NEUTRAL_OPTIONS.has(flag)) continue;
    switch (flag) {
      case 'i':
        caseless = true;
        break;
      case 's':
      case 'm':
        if (!inline.includes(flag)) inline += flag;
        break;
      case 'a':
        sticky = true; // anchored: every match starts where the previous one ended
        break;
      case 'x':
      case 'd':
        throw new PcreError(`regex option "${flag}" is not supported`);
      default:
        throw new PcreError(`unknown flag "${flag}" (flags "${options}")`);
    }
  }
  const compiled = compilePcre(inline === '' ? pattern : `(?${inline})${pattern}`, caseless);
  const extra = (global ? 'g' : '') + (sticky ? 'y' : '');
  return extra === '' ? compiled : new RegExp(compiled.source, compiled.flags + extra);
}

/**
 * Parse an ngx.re replacement template.
 *
 * @example
 *   compileReplacement('/$1-${2}$$'); // ['/', 1, '-', 2, '$']
 *   compileReplacement('/$x');        // throws ReplacementTemplateError
 */
export function compileReplacement(template: string): Replacement {
  const parts: Array<string | number> = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c !== '$') {
      text += c;
      i++;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      text += '$';
      i += 2;
      continue;
    }
    let digits: string | undefined;
    let end = i + 1;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      digits = close < 0 ? undefined : template.slice(i + 2, close);
      end = close + 1;
    } else {
      while (end < template.length && /[0-9]/.test(template[end] as string)) end++;
      digits = template.slice(i + 1, end);
    }
    if (digits === undefined || !/^[0-9]+$/.test(digits)) {
      throw new ReplacementTemplateError(`invalid capturing variable name in the replacement template "${template}"`);
    }
    if (text !== '') parts.push(text);
    text = '';
    parts.push(Number(digits));
    i = end;
  }
  if (text !== '' || parts.length === 0) parts.push(text);
  return parts;
}

/** The replacement for one match: groups that did not take part are empty. */
export function expandReplacement(replacement: Replacement, match: RegExpExecArray): string {
  if (replacement.length === 1 && typeof replacement[0] === 'string') return replacement[0];
  let out = '';
  for (const part of replacement) out += typeof part === 'string' ? part : (match[part] ?? '');
  return out;
}

/**
 * Replace the first match (`global` false, ngx.re.sub) or every match
 * (ngx.re.gsub, `regex` compiled with `global`). Returns undefined when
 * nothing matched, so callers can keep the original bytes.
 */
export function replaceMatches(subject: string, regex: RegExp, replacement: Replacement, global: boolean): string | undefined {
  regex.lastIndex = 0;
  let out = '';
  let last = 0;
  let matched = false;
  for (let m = regex.exec(subject); m !== null; m = global ? regex.exec(subject) : null) {
    matched = true;
    out += subject.slice(last, m.index) + expandReplacement(replacement, m);
    last = m.index + m[0].length;
    // An empty match must not be found again at the same place.
    if (m[0].length === 0 && global) regex.lastIndex = last + 1;
  }
  if (!matched) return undefined;
  return out + subject.slice(last);
}
