import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseParser, type ResponseEvents } from './response-parser.js';
import { ResponseParseError, type ResponseParseErrorCode } from './parse-errors.js';

/** Records what the parser reports; body pieces are merged so that different splits compare equal. */
class Recorder implements ResponseEvents {
  readonly log: string[] = [];
  readonly pieces: Buffer[] = [];
  status = 0;
  headers: string[] = [];
  completed = 0;

  onHead(status: number, headers: string[]): void {
    this.status = status;
    this.headers = headers;
    this.log.push(`head ${status} ${JSON.stringify(headers)}`);
  }

  onBody(chunk: Buffer): void {
    assert.ok(chunk.length > 0, 'onBody with an empty buffer');
    this.pieces.push(chunk);
    const last = this.log.length - 1;
    const text = chunk.toString('latin1');
    if (this.log[last]?.startsWith('body ')) this.log[last] += text;
    else this.log.push(`body ${text}`);
  }

  onComplete(): void {
    this.completed++;
    this.log.push('complete');
  }

  get body(): string {
    return Buffer.concat(this.pieces).toString('latin1');
  }
}

interface Outcome {
  log: string[];
  consumed: number;
  keepAlive: boolean;
  keepAliveHintMs: number;
  error?: string;
}

/** Feeds `chunks` in order (stopping once one is not fully used, as the connection does), then EOF when asked. */
function run(chunks: Buffer[], options: { head?: boolean; eof?: boolean; maxHeaderBytes?: number } = {}): Outcome {
  const rec = new Recorder();
  const parser = new ResponseParser(rec, options.maxHeaderBytes ?? 8192);
  parser.reset(options.head ?? false);
  let consumed = 0;
  try {
    for (const chunk of chunks) {
      const used = parser.execute(chunk);
      consumed += used;
      if (used < chunk.length) break;
    }
    if (options.eof) parser.finish();
  } catch (err) {
    assert.ok(err instanceof ResponseParseError, `unexpected ${String(err)}`);
    return { log: rec.log, consumed, keepAlive: parser.keepAlive, keepAliveHintMs: parser.keepAliveHintMs, error: err.code };
  }
  return { log: rec.log, consumed, keepAlive: parser.keepAlive, keepAliveHintMs: parser.keepAliveHintMs };
}

function parseOne(text: string, options: { head?: boolean; eof?: boolean; maxHeaderBytes?: number } = {}): Outcome {
  return run([Buffer.from(text, 'latin1')], options);
}

function expectError(text: string | Buffer[], code: ResponseParseErrorCode, options: { head?: boolean; eof?: boolean; maxHeaderBytes?: number } = {}): void {
  const out = typeof text === 'string' ? parseOne(text, options) : run(text, options);
  assert.equal(out.error, code, `expected ${code} for ${JSON.stringify(text)}, got ${JSON.stringify(out)}`);
}

/** Every way of cutting `bytes` into pieces at one point, and at two. */
function* splits(bytes: Buffer, pairs: boolean): Generator<Buffer[]> {
  for (let i = 0; i <= bytes.length; i++) {
    yield [bytes.subarray(0, i), bytes.subarray(i)];
    if (!pairs) continue;
    for (let j = i + 1; j < bytes.length; j++) yield [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
  }
}

function byteByByte(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

const NGINX_HEAD =
  'HTTP/1.1 200 OK\r\n' +
  'Server: nginx/1.27.0\r\n' +
  'Date: Sat, 21 Nov 2026 14:30:00 GMT\r\n' +
  'Content-Type: application/json\r\n' +
  'Content-Length: 11\r\n' +
  'Connection: keep-alive\r\n' +
  '\r\n';

describe('ResponseParser: typical responses', () => {
  test('Content-Length body: head, body as a subarray of the input, completion', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    const input = Buffer.from(`${NGINX_HEAD}hello world`, 'latin1');
    assert.equal(parser.execute(input), input.length);
    assert.equal(rec.status, 200);
    assert.deepEqual(rec.headers, [
      'Server', 'nginx/1.27.0',
      'Date', 'Sat, 21 Nov 2026 14:30:00 GMT',
      'Content-Type', 'application/json',
      'Content-Length', '11',
      'Connection', 'keep-alive',
    ]);
    assert.equal(rec.pieces.length, 1);
    const piece = rec.pieces[0]!;
    assert.equal(piece.buffer, input.buffer, 'the body was copied');
    assert.equal(piece.byteOffset, input.byteOffset + NGINX_HEAD.length);
    assert.equal(rec.body, 'hello world');
    assert.equal(rec.completed, 1);
    assert.equal(parser.keepAlive, true);
    assert.equal(parser.keepAliveHintMs, -1);
  });

  test('values are OWS-trimmed, names keep their case, bytes decode as latin1, empty values survive', () => {
    const out = parseOne('HTTP/1.1 200 OK\r\nX-Mixed-CASE:\t  a b \t\r\nX-Empty:\r\nX-Bytes: caf\xe9 \xff\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual(out.log, [
      `head 200 ${JSON.stringify(['X-Mixed-CASE', 'a b', 'X-Empty', '', 'X-Bytes', 'caf\xe9 \xff', 'Content-Length', '0'])}`,
      'complete',
    ]);
  });

  test('status line: empty reason, no reason at all, reason with obs-text, HTTP/1.0', () => {
    for (const line of ['HTTP/1.1 404 ', 'HTTP/1.1 404', 'HTTP/1.1 404 Nicht gef\xfcnden', 'HTTP/1.0 404 Not Found']) {
      const out = parseOne(`${line}\r\nContent-Length: 0\r\n\r\n`);
      assert.equal(out.error, undefined, line);
      assert.equal(out.log[0], 'head 404 ["Content-Length","0"]', line);
    }
  });

  test('bare LF line endings are accepted, mixed with CRLF', () => {
    const out = parseOne('HTTP/1.1 200 OK\nContent-Length: 2\r\nX-A: 1\n\nok');
    assert.deepEqual(out.log, ['head 200 ["Content-Length","2","X-A","1"]', 'body ok', 'complete']);
  });

  test('chunked body with extensions and trailers (trailers are dropped)', () => {
    const out = parseOne(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=value;quoted="a b"\r\nhello\r\n' +
      '6 ; ext\r\n world\r\n' +
      'A\r\n0123456789\r\n' +
      '0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
    );
    assert.equal(out.error, undefined);
    assert.deepEqual(out.log, ['head 200 ["Transfer-Encoding","chunked"]', 'body hello world0123456789', 'complete']);
    assert.equal(out.keepAlive, true);
  });

  test('chunked body with bare LF everywhere and an empty trailer section', () => {
    const out = parseOne('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n');
    assert.deepEqual(out.log, ['head 200 ["Transfer-Encoding","chunked"]', 'body abc', 'complete']);
  });

  test('close-delimited body: everything until EOF, completed by finish(), not reusable', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ', 'latin1');
    assert.equal(parser.execute(head), head.length);
    assert.equal(parser.execute(Buffer.from('second')), 6);
    assert.equal(rec.completed, 0);
    assert.equal(parser.keepAlive, false);
    parser.finish();
    assert.equal(rec.completed, 1);
    assert.equal(rec.body, 'first second');
  });

  test('HEAD: no body whatever Content-Length says; a body-looking remainder is left over', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n';
    const out = parseOne(`${text}hello`, { head: true });
    assert.deepEqual(out.log, ['head 200 ["Content-Length","5"]', 'complete']);
    assert.equal(out.consumed, text.length);
    assert.equal(out.keepAlive, true);
    // Without Content-Length a HEAD response is still bodiless, so still reusable.
    const bare = parseOne('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', { head: true });
    assert.deepEqual(bare.log, ['head 200 ["Transfer-Encoding","chunked"]', 'complete']);
    assert.equal(bare.keepAlive, true);
  });

  test('204 and 304 have no body: a Content-Length or chunked coding on them is not followed', () => {
    const noContent = 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n';
    const out = parseOne(noContent);
    assert.deepEqual(out.log, ['head 204 ["Content-Length","10"]', 'complete']);
    assert.equal(out.consumed, noContent.length);
    assert.equal(out.keepAlive, true);
    const notModified = parseOne('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n');
    assert.deepEqual(notModified.log, ['head 304 ["Transfer-Encoding","chunked"]', 'complete']);
  });

  test('Content-Length: 0 completes with the head', () => {
    const out = parseOne('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual(out.log, ['head 200 ["Content-Length","0"]', 'complete']);
  });

  test('interim 1xx responses are skipped; only the final head is reported', () => {
    const out = parseOne(
      'HTTP/1.1 100 Continue\r\n\r\n' +
      'HTTP/1.1 102 Processing\r\n\r\n' +
      'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' +
      'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.deepEqual(out.log, ['head 201 ["Content-Length","2"]', 'body ok', 'complete']);
  });

  test('an interim head is still checked', () => {
    expectError('HTTP/1.1 103 Early Hints\r\nLink : </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_HEADER');
  });

  test('101 Switching Protocols is refused', () => {
    expectError('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'UPSTREAM_RESPONSE_UNEXPECTED_UPGRADE');
  });

  test('a 1 MB chunk read in 16 KiB pieces is delivered as it arrives', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    const data = Buffer.alloc(1 << 20, 'x');
    const wire = Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${data.length.toString(16)}\r\n`),
      data,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    let reads = 0;
    for (let i = 0; i < wire.length; i += 16384) {
      const before = rec.pieces.length;
      parser.execute(wire.subarray(i, i + 16384));
      reads++;
      if (i + 16384 < wire.length - 8) assert.ok(rec.pieces.length > before, `read ${reads} delivered nothing`);
    }
    assert.ok(rec.pieces.length >= 64, `${rec.pieces.length} onBody calls`);
    assert.ok(rec.pieces.every((p) => p.length <= 16384));
    assert.equal(Buffer.concat(rec.pieces).equals(data), true);
    assert.equal(rec.completed, 1);
  });
});

describe('ResponseParser: any split of the input gives the same events', () => {
  const cases: Array<{ name: string; text: string; head?: boolean; eof?: boolean; pairs?: boolean }> = [
    { name: 'nginx head + Content-Length body', text: `${NGINX_HEAD}hello world` },
    {
      name: 'chunked with extensions and trailers',
      text: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n1 \r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n',
      pairs: true,
    },
    { name: 'bare LF and interim responses', text: 'HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early\r\nLink: <a>\r\n\r\nHTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 3\n\nabc' },
    { name: 'close-delimited', text: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil the end', eof: true },
    { name: 'HEAD with Content-Length', text: 'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n', head: true },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const bytes = Buffer.from(c.text, 'latin1');
      const options = { head: c.head ?? false, eof: c.eof ?? false };
      const whole = run([bytes], options);
      assert.equal(whole.error, undefined);
      assert.equal(whole.log.at(-1), 'complete');
      assert.equal(whole.consumed, bytes.length);
      for (const pieces of splits(bytes, c.pairs ?? false)) {
        assert.deepEqual(run(pieces, options), whole, `split at ${pieces.map((p) => p.length).join('+')}`);
      }
      assert.deepEqual(run(byteByByte(bytes), options), whole, 'byte by byte');
    });
  }

  test('errors are found whatever the split', () => {
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n', 'latin1');
    for (const pieces of splits(bytes, false)) expectError(pieces, 'UPSTREAM_RESPONSE_INVALID_CHUNK');
    expectError(byteByByte(bytes), 'UPSTREAM_RESPONSE_INVALID_CHUNK');
    const header = Buffer.from('HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B : 2\r\n\r\n', 'latin1');
    for (const pieces of splits(header, false)) expectError(pieces, 'UPSTREAM_RESPONSE_INVALID_HEADER');
  });
});

describe('ResponseParser: malformed input', () => {
  const HEAD = 'HTTP/1.1 200 OK\r\n';
  const cases: Array<[string, string, ResponseParseErrorCode]> = [
    ['HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['lower-case http', 'http/1.1 200 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['status 99', 'HTTP/1.1 099 Low\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['status 600', 'HTTP/1.1 600 High\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['two spaces before the status', 'HTTP/1.1  200 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['no space after the status', 'HTTP/1.1 200OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['NUL in the reason', 'HTTP/1.1 200 O\0K\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['bare CR in the status line', 'HTTP/1.1 200 O\rK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['empty line before the status line', '\r\nHTTP/1.1 200 OK\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_STATUS'],
    ['space before the colon', `${HEAD}Content-Length : 5\r\n\r\nhello`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['tab before the colon', `${HEAD}Transfer-Encoding\t: chunked\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['obs-fold', `${HEAD}X-A: 1\r\n continued\r\nContent-Length: 0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['obs-fold with a tab', `${HEAD}X-A: 1\r\n\tcontinued\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['empty name', `${HEAD}: value\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['no colon', `${HEAD}X-A value\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['non-token name', `${HEAD}X(A): 1\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['obs-text in a name', `${HEAD}X-\xe9: 1\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['NUL in a value', `${HEAD}X-A: a\0b\r\nContent-Length: 0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['DEL in a value', `${HEAD}X-A: a\x7fb\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['control character in a value', `${HEAD}X-A: a\x1bb\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['bare CR inside a value (response splitting)', `${HEAD}X-A: a\rContent-Length: 0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['CR CR LF line end', `${HEAD}X-A: a\r\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['Content-Length values differ', `${HEAD}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['Content-Length list differs', `${HEAD}Content-Length: 5, 6\r\n\r\nhello!`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['Content-Length with a sign', `${HEAD}Content-Length: +5\r\n\r\nhello`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['negative Content-Length', `${HEAD}Content-Length: -1\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['space inside Content-Length', `${HEAD}Content-Length: 1 0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['hex Content-Length', `${HEAD}Content-Length: 0x10\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['empty Content-Length', `${HEAD}Content-Length:\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['empty Content-Length list element', `${HEAD}Content-Length: 5,,5\r\n\r\nhello`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['Content-Length beyond 2^53', `${HEAD}Content-Length: 9007199254740992\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['Content-Length of 30 digits', `${HEAD}Content-Length: 100000000000000000000000000000\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['invalid Content-Length on a 204', 'HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n', 'UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH'],
    ['chunk size not hex', `${HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['empty chunk size', `${HEAD}Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['chunk size with a sign', `${HEAD}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['chunk size 0x prefix', `${HEAD}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['space inside a chunk size', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5 6\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['17 hex digits', `${HEAD}Transfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['chunk size beyond 2^53', `${HEAD}Transfer-Encoding: chunked\r\n\r\n20000000000000\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['chunk size overflowing 64 bits', `${HEAD}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['missing CRLF after chunk data', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['CR without LF after chunk data', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\rX0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['CR without LF after a chunk size', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['NUL in a chunk extension', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5;a=\0\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['chunk extension over 4 KiB', `${HEAD}Transfer-Encoding: chunked\r\n\r\n5;${'a'.repeat(4100)}\r\nhello\r\n`, 'UPSTREAM_RESPONSE_INVALID_CHUNK'],
    ['space before the colon in a trailer', `${HEAD}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T : 1\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
    ['NUL in a trailer', `${HEAD}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: \0\r\n\r\n`, 'UPSTREAM_RESPONSE_INVALID_HEADER'],
  ];
  for (const [name, text, code] of cases) {
    test(name, () => expectError(text, code));
  }

  test('a 4 KiB chunk extension is still accepted', () => {
    const ext = 'a'.repeat(4000);
    const out = parseOne(`${HEAD}Transfer-Encoding: chunked\r\n\r\n5;${ext}\r\nhello\r\n0;${ext}\r\n\r\n`);
    assert.deepEqual(out.log.slice(1), ['body hello', 'complete']);
  });

  test('16 hex digits and a size of exactly 2^53 - 1 pass the size check', () => {
    const out = parseOne(`${HEAD}Transfer-Encoding: chunked\r\n\r\n0000000000000005\r\nhello\r\n001fffffffffffff\r\nab`);
    assert.equal(out.error, undefined);
    assert.deepEqual(out.log.slice(1), ['body helloab']);
  });

  test('Content-Length: identical repeats (lines or list), leading zeros, OWS around list elements', () => {
    for (const fields of ['Content-Length: 5\r\nContent-Length: 5', 'Content-Length: 5,5, 5 ,\t5', 'Content-Length: 005']) {
      const out = parseOne(`${HEAD}${fields}\r\n\r\nhello`);
      assert.equal(out.error, undefined, fields);
      assert.deepEqual(out.log.slice(1), ['body hello', 'complete'], fields);
    }
  });

  test('messages name the broken rule and never echo a header value', () => {
    const parser = new ResponseParser(new Recorder(), 8192);
    parser.reset(false);
    const secret = 'Bearer s3cr3t-t0ken';
    assert.throws(
      () => parser.execute(Buffer.from(`${HEAD}Authorization: ${secret}\0\r\n\r\n`, 'latin1')),
      (err: unknown) => {
        assert.ok(err instanceof ResponseParseError);
        assert.equal(err.code, 'UPSTREAM_RESPONSE_INVALID_HEADER');
        assert.equal(err.name, 'ResponseParseError');
        assert.match(err.message, /0x00 in the value of "Authorization"/);
        assert.doesNotMatch(err.message, /s3cr3t/);
        return true;
      },
    );
    parser.reset(false);
    assert.throws(
      () => parser.execute(Buffer.from(`${HEAD}Authorization ${secret}\r\n\r\n`, 'latin1')),
      (err: unknown) => err instanceof ResponseParseError && !err.message.includes('s3cr3t'),
    );
  });

  test('after an error the parser keeps failing until reset(), then works again', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    const bad = Buffer.from('HTTP/2.0 200 OK\r\n\r\n');
    let first: unknown;
    assert.throws(() => parser.execute(bad), (err: unknown) => {
      first = err;
      return err instanceof ResponseParseError && err.code === 'UPSTREAM_RESPONSE_INVALID_STATUS';
    });
    assert.throws(() => parser.execute(Buffer.from(`${NGINX_HEAD}hello world`)), (err: unknown) => err === first);
    assert.throws(() => parser.finish(), (err: unknown) => err === first);
    parser.reset(false);
    const good = Buffer.from(`${NGINX_HEAD}hello world`);
    assert.equal(parser.execute(good), good.length);
    assert.equal(rec.completed, 1);
  });

  test('a throw from an event handler leaves the parser failed', () => {
    const boom = new Error('handler broke');
    const parser = new ResponseParser({ onHead() { throw boom; }, onBody() {}, onComplete() {} }, 8192);
    parser.reset(false);
    assert.throws(() => parser.execute(Buffer.from(`${NGINX_HEAD}hello world`)), (err: unknown) => err === boom);
    assert.throws(() => parser.execute(Buffer.from('more')), (err: unknown) => err === boom);
  });
});

describe('ResponseParser: head size limit', () => {
  const head = (filler: number): string => `HTTP/1.1 200 OK\r\nX-Fill: ${'a'.repeat(filler)}\r\nContent-Length: 0\r\n\r\n`;
  const fixed = head(0).length;

  test('a head of exactly maxHeaderBytes passes; one byte more fails, in one chunk or byte by byte', () => {
    const exact = head(1000 - fixed);
    assert.equal(exact.length, 1000);
    assert.equal(parseOne(exact, { maxHeaderBytes: 1000 }).error, undefined);
    assert.equal(run(byteByByte(Buffer.from(exact)), { maxHeaderBytes: 1000 }).error, undefined);
    const over = head(1001 - fixed);
    expectError(over, 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
    expectError(byteByByte(Buffer.from(over)), 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
  });

  test('an endless head over many reads fails as soon as it passes the limit, before any terminator', () => {
    const parser = new ResponseParser(new Recorder(), 1000);
    parser.reset(false);
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\n'));
    const line = Buffer.from(`X-Fill: ${'a'.repeat(90)}\r\n`); // 100 bytes
    let reads = 0;
    assert.throws(() => {
      for (;;) {
        parser.execute(line);
        reads++;
        assert.ok(reads < 100, 'never failed');
      }
    }, (err: unknown) => err instanceof ResponseParseError && err.code === 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE');
    assert.equal(reads, 9, 'failed on the read that crossed 1000 bytes');
  });

  test('one line with no LF at all fails at the limit too', () => {
    expectError([Buffer.from('HTTP/1.1 200 OK\r\nX-A: '), Buffer.alloc(600, 'a'), Buffer.alloc(600, 'a')], 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
  });

  test('interim heads count towards the limit', () => {
    const final = head(900 - fixed);
    assert.equal(parseOne(final, { maxHeaderBytes: 1000 }).error, undefined);
    expectError(`HTTP/1.1 103 Early Hints\r\nLink: <${'a'.repeat(100)}>\r\n\r\n${final}`, 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
    expectError(`${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(100)}${final}`, 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
  });

  test('the trailer section has its own limit', () => {
    const body = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n';
    const trailers = `X-T: ${'t'.repeat(1100)}\r\n\r\n`;
    expectError(body + trailers, 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
    expectError([Buffer.from(body), ...byteByByte(Buffer.from(trailers))], 'UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', { maxHeaderBytes: 1000 });
    assert.equal(parseOne(`${body}X-T: ${'t'.repeat(900)}\r\n\r\n`, { maxHeaderBytes: 1000 }).error, undefined);
  });
});

describe('ResponseParser: framing and connection reuse', () => {
  const keepAliveOf = (text: string, options: { head?: boolean } = {}): boolean => {
    const out = parseOne(text, options);
    assert.equal(out.error, undefined, text);
    return out.keepAlive;
  };

  test('HTTP/1.1 is reusable unless a Connection token says close', () => {
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), true);
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\nConnection: x-foo\r\nConnection: ,close ,\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\nConnection: closed, x-close\r\nContent-Length: 0\r\n\r\n'), true);
  });

  test('HTTP/1.0 is reusable only with a keep-alive token (and no close)', () => {
    assert.equal(keepAliveOf('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(keepAliveOf('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n'), true);
    assert.equal(keepAliveOf('HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'), true);
    assert.equal(keepAliveOf('HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n'), false);
  });

  test('an interim response does not decide reuse: the final head does', () => {
    assert.equal(keepAliveOf('HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), true);
  });

  test('Transfer-Encoding with Content-Length: chunked framing wins, the connection is not reused', () => {
    const out = parseOne('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.deepEqual(out.log.slice(1), ['body hello', 'complete']);
    assert.equal(out.keepAlive, false);
    // Even an invalid Content-Length is ignored next to Transfer-Encoding.
    const invalid = parseOne('HTTP/1.1 200 OK\r\nContent-Length: x, y\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.equal(invalid.error, undefined);
    assert.equal(invalid.keepAlive, false);
  });

  test('Transfer-Encoding in an HTTP/1.0 response: read as chunked, then close', () => {
    const out = parseOne('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    assert.deepEqual(out.log.slice(1), ['body ok', 'complete']);
    assert.equal(out.keepAlive, false);
  });

  test('the final coding decides: chunked last is chunked (any case, several lines); otherwise read to EOF', () => {
    const chunked = ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: CHUNKED', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: ,'];
    for (const te of chunked) {
      const out = parseOne(`HTTP/1.1 200 OK\r\n${te}\r\n\r\n2\r\nok\r\n0\r\n\r\n`);
      assert.deepEqual(out.log.slice(1), ['body ok', 'complete'], te);
      assert.equal(out.keepAlive, true, te);
    }
    const toEof = ['Transfer-Encoding: chunked, gzip', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip', 'Transfer-Encoding: chunked;q=1', 'Transfer-Encoding:'];
    for (const te of toEof) {
      const out = parseOne(`HTTP/1.1 200 OK\r\n${te}\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n`, { eof: true });
      assert.equal(out.error, undefined, te);
      assert.deepEqual(out.log.slice(1), ['body 2\r\nok\r\n0\r\n\r\n', 'complete'], te);
      assert.equal(out.keepAlive, false, te);
    }
  });

  test('no Content-Length and no Transfer-Encoding: body to EOF, not reused', () => {
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\n\r\n'), false);
    // ...unless there is no body to delimit.
    assert.equal(keepAliveOf('HTTP/1.1 204 No Content\r\n\r\n'), true);
    assert.equal(keepAliveOf('HTTP/1.1 200 OK\r\n\r\n', { head: true }), true);
  });

  test('keepAliveHintMs from Keep-Alive: timeout=N', () => {
    const hint = (value: string | null): number => {
      const out = parseOne(`HTTP/1.1 200 OK\r\n${value === null ? '' : `Keep-Alive: ${value}\r\n`}Content-Length: 0\r\n\r\n`);
      assert.equal(out.error, undefined);
      return out.keepAliveHintMs;
    };
    assert.equal(hint('timeout=5, max=100'), 5000);
    assert.equal(hint('max=100, Timeout = 7'), 7000);
    assert.equal(hint('timeout=0'), 0);
    assert.equal(hint(null), -1);
    assert.equal(hint('max=100'), -1);
    assert.equal(hint('timeout='), -1);
    assert.equal(hint('timeout=-1'), -1);
    assert.equal(hint('timeout=1.5'), -1);
    assert.equal(hint('timeout=5s'), -1);
    assert.equal(hint('timeouts=5'), -1);
    assert.equal(hint('timeout=99999999999999999999'), -1);
  });
});

describe('ResponseParser: connection life cycle', () => {
  test('started: false after reset, true from the first byte, including the bytes of an interim head', () => {
    const parser = new ResponseParser(new Recorder(), 8192);
    parser.reset(false);
    assert.equal(parser.started, false);
    parser.execute(Buffer.alloc(0));
    assert.equal(parser.started, false);
    parser.execute(Buffer.from('H'));
    assert.equal(parser.started, true);
    parser.reset(false);
    assert.equal(parser.started, false);
    parser.execute(Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'));
    assert.equal(parser.started, true);
  });

  test('finish() on an idle connection does nothing', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    parser.finish();
    assert.deepEqual(rec.log, []);
    // Still usable afterwards.
    const input = Buffer.from(`${NGINX_HEAD}hello world`);
    assert.equal(parser.execute(input), input.length);
    assert.equal(rec.completed, 1);
    parser.finish(); // after completion: nothing more
    assert.equal(rec.completed, 1);
  });

  test('finish() mid-response throws UPSTREAM_RESPONSE_INCOMPLETE', () => {
    const cut = [
      'H',
      'HTTP/1.1 200 OK\r\nContent-Len',
      'HTTP/1.1 100 Continue\r\n\r\n',
      `${NGINX_HEAD}hello`,
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n',
    ];
    for (const text of cut) expectError(text, 'UPSTREAM_RESPONSE_INCOMPLETE', { eof: true });
  });

  test('execute() returns where the response ended when another follows in the same chunk', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(false);
    const first = `${NGINX_HEAD}hello world`;
    const second = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n';
    const both = Buffer.from(first + second);
    assert.equal(parser.execute(both), first.length);
    assert.equal(rec.completed, 1);
    // Nothing more belongs to a completed response.
    assert.equal(parser.execute(both.subarray(first.length)), 0);
    assert.equal(rec.completed, 1);

    parser.reset(false);
    assert.equal(parser.keepAlive, false, 'nothing known about the next response yet');
    assert.equal(parser.execute(both.subarray(first.length)), second.length);
    assert.equal(rec.status, 404);
    assert.equal(rec.completed, 2);
    assert.deepEqual(rec.log.slice(-3), ['head 404 ["Transfer-Encoding","chunked"]', 'body nope', 'complete']);
  });

  test('leftover after a chunked response, a HEAD response and a 304', () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n';
    assert.equal(parseOne(`${chunked}junk`).consumed, chunked.length);
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n';
    assert.equal(parseOne(`${head}junk`, { head: true }).consumed, head.length);
    const notModified = 'HTTP/1.1 304 Not Modified\r\n\r\n';
    assert.equal(parseOne(`${notModified}junk`).consumed, notModified.length);
  });

  test('reset() between responses clears the previous head, a carried partial head and the HEAD flag', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec, 8192);
    parser.reset(true);
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3\r\nContent-Length: 5\r\n\r\n'));
    assert.equal(rec.completed, 1);
    assert.equal(parser.keepAliveHintMs, 3000);

    parser.reset(false);
    assert.equal(parser.keepAliveHintMs, -1);
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nX-Partial: 1'));
    // Abandoned mid-head (say, a timeout); the next response must not see those bytes.
    parser.reset(false);
    const input = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(parser.execute(input), input.length);
    assert.deepEqual(rec.log.slice(-3), ['head 200 ["Content-Length","5"]', 'body hello', 'complete']);
  });

  test('the constructor rejects a nonsensical limit', () => {
    assert.throws(() => new ResponseParser(new Recorder(), 0), RangeError);
    assert.throws(() => new ResponseParser(new Recorder(), 1.5), RangeError);
  });
});
