/**
 * mocking (priority 10900, access): answer for the upstream with a fixed
 * or generated response, as APISIX 3.18's `apisix/plugins/mocking.lua`:
 *
 * - `response_example` is the body as written, or else a value generated
 *   from the JSON schema `response_schema` (mocking/sample.ts), written as
 *   JSON (`application/json`, `text/plain`) or XML under `<data>`
 *   (`application/xml`, `text/xml`); `$var` references in the body are
 *   resolved either way;
 * - `response_status` (200), `content_type` (`application/json;charset=utf8`,
 *   also the only check: its media type must be one of the five above or
 *   `text/html`), `response_headers`;
 * - `with_mock_header` (true) adds `x-mock-by: fngate/<version>` (APISIX:
 *   `APISIX/<version>`), the same product token as the `Server` header;
 * - `delay` seconds before answering (a timer: other requests go on).
 *
 * The upstream is never called.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PluginContext } from '../pdk/context.js';
import type { ConfKind } from '../pdk/plugin.js';
import { definePlugin } from '../pdk/plugin.js';
import { VERSION } from '../version.js';
import { compileVarTemplate, type VarTemplate } from './lib/var-template.js';
import { headerMapProblem, isValidHeaderValue } from './lib/header-text.js';
import { sampleFromSchema } from './mocking/sample.js';
import { toXml } from './mocking/xml.js';
import { compiledPerConf } from './lib/per-conf.js';

export interface MockingConf {
  readonly delay: number;
  readonly response_status: number;
  readonly content_type: string;
  readonly response_example?: string;
  readonly response_schema?: Readonly<Record<string, unknown>>;
  readonly with_mock_header: boolean;
  readonly response_headers?: Readonly<Record<string, string | number>>;
}

const schema = {
  type: 'object',
  properties: {
    delay: { type: 'integer', default: 0 },
    response_status: { type: 'integer', default: 200, minimum: 100 },
    content_type: { type: 'string', default: 'application/json;charset=utf8' },
    response_example: { type: 'string' },
    response_schema: { type: 'object' },
    with_mock_header: { type: 'boolean', default: true },
    response_headers: {
      type: 'object',
      minProperties: 1,
      patternProperties: { '^[^:]+$': { oneOf: [{ type: 'string' }, { type: 'number' }] } },
    },
  },
  anyOf: [{ required: ['response_example'] }, { required: ['response_schema'] }],
};

/** Media types APISIX accepts; the generated body's format follows them. */
const SUPPORTED_TYPES = new Set(['application/xml', 'application/json', 'text/plain', 'text/html', 'text/xml']);

/**
 * The media type part of `content_type` as APISIX takes it: everything up
 * to the last `;` of a printable-ASCII run (`ngx.re.match` of
 * `([ -~]*);([ -~]*)`), or the whole text.
 */
function mediaTypeOf(contentType: string): string {
  const m = /([ -~]*);([ -~]*)/.exec(contentType);
  return m === null ? contentType : (m[1] as string);
}

type BodyFormat = 'json' | 'xml' | 'none';

function formatOf(mediaType: string): BodyFormat {
  if (mediaType === 'application/xml' || mediaType === 'text/xml') return 'xml';
  if (mediaType === 'application/json' || mediaType === 'text/plain') return 'json';
  return 'none';
}

// ---- compiled configuration ---------------------------------------------------

interface Compiled {
  /** `response_example`, parsed for `$var`. */
  readonly example: VarTemplate | undefined;
  readonly format: BodyFormat;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly delayMs: number;
}

const MOCK_BY = `fngate/${VERSION}`;

const compiled = compiledPerConf((conf: MockingConf): Compiled => {
  const headers: Record<string, string | number> = { 'content-type': conf.content_type };
  if (conf.with_mock_header) headers['x-mock-by'] = MOCK_BY;
  // Configured headers come last: they may replace the two above.
  for (const [name, value] of Object.entries(conf.response_headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    example: conf.response_example === undefined ? undefined : compileVarTemplate(conf.response_example),
    format: formatOf(mediaTypeOf(conf.content_type)),
    headers,
    delayMs: conf.delay > 0 ? conf.delay * 1000 : 0,
  };
});

/** The body: the example, or a value generated from the schema in the content type's format. */
function bodyOf(conf: MockingConf, c: Compiled, ctx: PluginContext): string {
  if (c.example !== undefined) return c.example.render(ctx.var);
  let text: string;
  const value = sampleFromSchema(conf.response_schema ?? {});
  if (c.format === 'json') {
    text = JSON.stringify(value) ?? 'null';
  } else if (c.format === 'xml') {
    text = toXml(value, 'data');
  } else {
    ctx.log.error('json schema body only support xml and json content type');
    return '';
  }
  // APISIX resolves `$var` in the generated text too (examples inside the schema may use them).
  return text.includes('$') ? compileVarTemplate(text).render(ctx.var) : text;
}

// ---- configuration checks -------------------------------------------------------

function checkConf(conf: MockingConf, kind: ConfKind): string | undefined {
  if (kind === 'metadata') return undefined;
  if (!SUPPORTED_TYPES.has(mediaTypeOf(conf.content_type))) return 'unsupported content type!';
  // APISIX allows any status from 100; a mock can only send a final one that HTTP defines.
  if (conf.response_status < 200 || conf.response_status > 599) return `response_status must be between 200 and 599, got ${conf.response_status}`;
  if (!isValidHeaderValue(conf.content_type)) return 'invalid content_type';
  return headerMapProblem(conf.response_headers);
}

/**
 * @example
 *   // route plugins: { "mocking": { "response_status": 201, "response_example": "{\"id\":\"$arg_id\"}" } }
 */
const mocking = definePlugin<MockingConf>({
  name: 'mocking',
  version: '0.1',
  priority: 10900,
  schema,

  check: checkConf,

  access(conf, ctx) {
    const c = compiled(conf);
    const verdict = [conf.response_status, bodyOf(conf, c, ctx), c.headers] as const;
    if (c.delayMs > 0) return sleep(c.delayMs).then(() => verdict);
    return verdict;
  },
});

export default mocking;
