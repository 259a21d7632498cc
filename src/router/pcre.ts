/**
 * Compile a PCRE pattern (what APISIX users write for `~~` / `~*`, run by
 * `ngx.re.find`) into a JavaScript RegExp once, at config load.
 *
 * The two dialects agree on everything people put in route rules; the
 * differences handled here are the PCRE-only spellings: a leading `(?i)` /
 * `(?s)` / `(?m)`, `(?P<name>…)` and `(?P=name)`, `\A` `\z` `\Z`, `\Q…\E`,
 * `\x{hh}`, `\h`, POSIX classes such as `[[:alpha:]]`, a `]` first in a
 * class, and `$` (which in PCRE also matches before a final newline).
 * Constructs JavaScript lacks (possessive quantifiers, atomic groups,
 * recursion, mid-pattern option settings) are refused by the RegExp
 * constructor and reported as `PcreError`.
 */
import { FngateError } from '../errors.js';

export class PcreError extends FngateError {
  readonly code = 'ROUTER_INVALID_REGEX';
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  ascii: '\\x00-\\x7f',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

const END_OF_INPUT = '(?![\\s\\S])';
/** PCRE's default `$` and `\Z`: at the end, or before a newline that ends the subject. */
const END_OR_FINAL_NEWLINE = '(?=\\n?(?![\\s\\S]))';

function escapeLiteral(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function hex4(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Leading `(?flags)` groups, e.g. `(?i)` or `(?is)`; returns the JS flags and where the pattern continues. */
function leadingOptions(pattern: string): { flags: string; rest: number } {
  let flags = '';
  let at = 0;
  for (;;) {
    const m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(at));
    if (!m) return { flags, rest: at };
    for (const f of m[1] as string) {
      if (f !== 'i' && f !== 's' && f !== 'm') throw new PcreError(`unsupported option (?${f})`);
      if (!flags.includes(f)) flags += f;
    }
    at += m[0].length;
  }
}

/** Translate PCRE syntax to an equivalent JavaScript source string. */
function translate(pattern: string, from: number, multiline: boolean): string {
  let out = '';
  let inClass = false;
  let i = from;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw new PcreError('\\ at end of pattern');
      if (next === 'Q') {
        const stop = pattern.indexOf('\\E', i + 2);
        const literal = pattern.slice(i + 2, stop < 0 ? n : stop);
        for (const ch of literal) out += escapeLiteral(ch);
        i = stop < 0 ? n : stop + 2;
        continue;
      }
      if (next === 'E') {
        i += 2; // a stray \E is ignored by PCRE
        continue;
      }
      if (next === 'x' && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        const digits = close < 0 ? '' : pattern.slice(i + 3, close);
        const code = /^[0-9a-fA-F]{1,4}$/.test(digits) ? parseInt(digits, 16) : -1;
        if (code < 0) throw new PcreError(`unsupported escape \\x{${digits}}`);
        out += hex4(code);
        i = close + 1;
        continue;
      }
      if (next === 'h') {
        out += inClass ? ' \\t' : '[ \\t]';
        i += 2;
        continue;
      }
      if (!inClass && next === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && next === 'z') out += END_OF_INPUT;
      else if (!inClass && next === 'Z') out += END_OR_FINAL_NEWLINE;
      else out += c + next;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        const name = close < 0 ? undefined : pattern.slice(i + 2, close);
        const set = name === undefined ? undefined : POSIX_CLASSES[name];
        if (set === undefined) throw new PcreError(`unsupported POSIX class [:${name ?? ''}`);
        out += set;
        i = close + 2;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      // PCRE reads a `]` right after `[` or `[^` as a literal; JS would end the class.
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && pattern.startsWith('(?P<', i)) {
      out += '(?<';
      i += 4;
      continue;
    }
    if (c === '(' && pattern.startsWith('(?P=', i)) {
      const close = pattern.indexOf(')', i + 4);
      if (close < 0) throw new PcreError('unterminated (?P= reference');
      out += `\\k<${pattern.slice(i + 4, close)}>`;
      i = close + 1;
      continue;
    }
    if (c === '$' && !multiline) {
      out += END_OR_FINAL_NEWLINE;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * Compile `pattern` as `ngx.re.find(subject, pattern, caseless ? "joi" : "jo")`
 * would interpret it. Throws `PcreError` when it cannot be compiled.
 *
 * @example
 *   compilePcre('^/api/v(?P<version>\\d+)$', false).test('/api/v2'); // true
 *   compilePcre('android', true).test('Mozilla (Linux; Android 14)'); // true
 */
export function compilePcre(pattern: string, caseless: boolean): RegExp {
  const { flags: inline, rest } = leadingOptions(pattern);
  let flags = inline;
  if (caseless && !flags.includes('i')) flags += 'i';
  const source = translate(pattern, rest, flags.includes('m'));
  try {
    return new RegExp(source, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
    throw new PcreError(reason, { cause: err });
  }
}
