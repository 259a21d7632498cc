/**
 * Incremental HTTP/1.1 response parser for the proxy's upstream client.
 *
 * Strict where a lenient reading would let an upstream smuggle or split
 * responses (RFC 9112 §11.1–11.2): field names must be tokens with no space
 * before the colon, obs-fold and control characters are rejected, a
 * Content-Length must be one unambiguous decimal number, chunk sizes are
 * bounded hex. Lenient where nginx is with its upstreams: bare LF line ends,
 * an empty reason phrase, chunk extensions (skipped).
 *
 * Cost model: the head is located with `Buffer#indexOf`, decoded to one
 * latin1 string and walked with `charCodeAt`; names and values are
 * substrings of it. Body bytes are never looped over in JavaScript: they are
 * handed on as subarrays of the input chunk. Only a head (or trailer
 * section) that spans reads is copied, into one per-parser buffer bounded by
 * `maxHeaderBytes`.
 */
import { sameHeaderName } from '../../util/header-name.js';
import { ResponseParseError, type ResponseParseErrorCode } from './parse-errors.js';

/** What the parser reports; the connection implements it. */
export interface ResponseEvents {
  /**
   * A final (non-1xx) response head. `headers` is a flat [name, value, name, value, ...] list: names as received
   * (original case), values with surrounding OWS (SP / HTAB) trimmed, both decoded latin1 (every byte → one char).
   */
  onHead(status: number, headers: string[]): void;
  /** A piece of the body (a subarray of the input chunk when possible: no copying). Never called with an empty buffer. */
  onBody(chunk: Buffer): void;
  /** The response is complete (after the last body byte, or after the head for bodiless responses). */
  onComplete(): void;
}

// Parser states. Plain numbers: a switch on small integers is what the hot path wants.
const HEAD = 0; // collecting a status line and its header block (interim 1xx heads included)
const BODY_LENGTH = 1; // Content-Length body, `#remaining` bytes to go
const BODY_EOF = 2; // close-delimited body (RFC 9112 §6.3 rule 8)
const CHUNK_SIZE = 3; // hex digits of a chunk-size line
const CHUNK_SIZE_OWS = 4; // BWS after the hex digits: only more BWS, ";", or the line end may follow
const CHUNK_EXT = 5; // a chunk extension, skipped to the line end
const CHUNK_SIZE_LF = 6; // CR seen at the end of a chunk-size line
const CHUNK_DATA = 7; // chunk data, `#remaining` bytes to go
const CHUNK_DATA_END = 8; // the CRLF that must follow chunk data
const CHUNK_DATA_LF = 9; // CR seen after chunk data
const TRAILERS = 10; // the trailer section after the last chunk
const DONE = 11;
const FAILED = 12;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COMMA = 44;

/** A chunk-size line (size, extensions; not its line end) longer than this is refused: extensions are ignored anyway. */
const MAX_CHUNK_LINE_BYTES = 4096;
/** 16 hex digits already exceed 2^53; more can only be padding meant to confuse a parser. */
const MAX_CHUNK_SIZE_DIGITS = 16;
/** First size of the buffer that carries a head across reads; it doubles up to `maxHeaderBytes`. */
const INITIAL_CARRY_BYTES = 1024;

/** RFC 9110 §5.6.2 tchar: the bytes a field name may contain. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** Hex digit value of a byte, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

// Bits of the Connection header's tokens that matter here.
const CONN_CLOSE = 1;
const CONN_KEEP_ALIVE = 2;

/**
 * Parses one HTTP/1.1 response at a time from a connection's bytes and
 * reports its head, body pieces and end to a {@link ResponseEvents}.
 *
 * @example
 *   const parser = new ResponseParser(events, 16 * 1024);
 *   parser.reset(method === 'HEAD');
 *   socket.on('data', (chunk) => {
 *     const used = parser.execute(chunk); // may call events.onHead / onBody / onComplete
 *     if (used < chunk.length) socket.destroy(); // bytes after the response: no pipelining
 *   });
 *   socket.on('end', () => parser.finish());
 */
export class ResponseParser {
  readonly #events: ResponseEvents;
  readonly #maxHeaderBytes: number;

  #state = HEAD;
  #bodiless = false;
  #started = false;
  #failure: unknown = null;
  #keepAlive = false;
  #keepAliveHintMs = -1;

  /** Bytes the block being collected may still take: the head limit counts interim 1xx heads too. */
  #budget: number;
  /** Holds a head or trailer section that spans reads; null until first needed. */
  #carry: Buffer | null = null;
  #carryLen = 0;
  /** Offset in `#carry` of the line not yet ended by an LF. */
  #carryLineStart = 0;

  /** Body bytes left: of the Content-Length body or of the current chunk. */
  #remaining = 0;
  #chunkSize = 0;
  #chunkDigits = 0;
  #chunkLineBytes = 0;

  // What the head being parsed says about framing; reset per head.
  #http10 = false;
  #hasTransferEncoding = false;
  #chunkedLast = false;
  #contentLength = -1;
  #contentLengthError: string | null = null;
  #connection = 0;
  #keepAliveHeaderMs = -1;

  constructor(events: ResponseEvents, maxHeaderBytes: number) {
    if (!Number.isSafeInteger(maxHeaderBytes) || maxHeaderBytes <= 0) {
      throw new RangeError(`maxHeaderBytes must be a positive integer, got ${maxHeaderBytes}`);
    }
    this.#events = events;
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#budget = maxHeaderBytes;
  }

  /** True once the head was parsed and the connection may be reused after this response. Valid after onHead. */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** `Keep-Alive: timeout=N` of the last response in ms, or -1 when absent or unparseable. Valid after onHead. */
  get keepAliveHintMs(): number {
    return this.#keepAliveHintMs;
  }

  /** True when any byte of the current response has been received. */
  get started(): boolean {
    return this.#started;
  }

  /** Prepare for the next response on the connection. `bodiless`: the request was HEAD. */
  reset(bodiless: boolean): void {
    this.#state = HEAD;
    this.#bodiless = bodiless;
    this.#started = false;
    this.#failure = null;
    this.#keepAlive = false;
    this.#keepAliveHintMs = -1;
    this.#budget = this.#maxHeaderBytes;
    this.#carryLen = 0;
  }

  /**
   * Feed bytes; returns how many belong to this response (fewer than
   * `chunk.length` only when it completed inside the chunk). Throws
   * {@link ResponseParseError} on malformed input; the parser then stays
   * failed until reset(). A throw from an event handler fails it too.
   */
  execute(chunk: Buffer): number {
    if (this.#state === FAILED) throw this.#failure;
    if (this.#state === DONE || chunk.length === 0) return 0;
    this.#started = true;
    try {
      return this.#run(chunk);
    } catch (err) {
      this.#state = FAILED;
      this.#failure = err;
      throw err;
    }
  }

  /**
   * The socket ended. Completes a close-delimited body; throws
   * `UPSTREAM_RESPONSE_INCOMPLETE` when a response is cut short; does
   * nothing when no byte of a response arrived.
   */
  finish(): void {
    switch (this.#state) {
      case FAILED:
        throw this.#failure;
      case DONE:
        return;
      case BODY_EOF:
        this.#state = DONE;
        this.#events.onComplete();
        return;
      case HEAD:
        if (!this.#started) return;
        throw this.#fail('UPSTREAM_RESPONSE_INCOMPLETE', 'upstream prematurely closed connection while reading response header');
      case BODY_LENGTH:
        throw this.#fail('UPSTREAM_RESPONSE_INCOMPLETE',
          `upstream prematurely closed connection while reading upstream (${this.#remaining} body bytes missing)`);
      default:
        throw this.#fail('UPSTREAM_RESPONSE_INCOMPLETE', 'upstream prematurely closed connection while reading a chunked body');
    }
  }

  #fail(code: ResponseParseErrorCode, message: string): ResponseParseError {
    const err = new ResponseParseError(code, message);
    this.#state = FAILED;
    this.#failure = err;
    return err;
  }

  #run(chunk: Buffer): number {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.#state) {
        case HEAD: {
          const end = this.#collectBlock(chunk, pos);
          if (end < 0) return len;
          pos = this.#onHeadBlock(chunk, pos, end);
          break;
        }
        case BODY_LENGTH:
        case CHUNK_DATA: {
          const remaining = this.#remaining;
          if (len - pos < remaining) {
            this.#remaining = remaining - (len - pos);
            this.#events.onBody(pos === 0 ? chunk : chunk.subarray(pos));
            return len;
          }
          const end = pos + remaining;
          this.#remaining = 0;
          this.#events.onBody(pos === 0 && end === len ? chunk : chunk.subarray(pos, end));
          pos = end;
          if (this.#state === BODY_LENGTH) return this.#complete(pos);
          this.#state = CHUNK_DATA_END;
          break;
        }
        case BODY_EOF:
          this.#events.onBody(pos === 0 ? chunk : chunk.subarray(pos));
          return len;
        case TRAILERS: {
          const end = this.#collectBlock(chunk, pos);
          if (end < 0) return len;
          this.#onTrailerBlock(chunk, pos, end);
          return this.#complete(end);
        }
        case DONE:
          return pos;
        default:
          pos = this.#chunkFraming(chunk, pos);
      }
    }
    return len;
  }

  #complete(pos: number): number {
    this.#state = DONE;
    this.#events.onComplete();
    return pos;
  }

  // Head and trailer sections ---------------------------------------------------------------------

  /**
   * Looks for the end of a field block (status line or trailer fields up to
   * an empty line) starting at `chunk[pos]`. Returns the chunk offset just
   * past the block, or -1 when the chunk ended first (the partial block is
   * then carried, so no byte is scanned twice). A block that cannot fit in
   * the budget fails as soon as that is certain, however it arrives.
   */
  #collectBlock(chunk: Buffer, pos: number): number {
    const len = chunk.length;
    const budget = this.#budget;
    if (this.#carryLen === 0) {
      // The common case: the whole block is in this chunk and is parsed in place.
      const limit = Math.min(len, pos + budget);
      let lineStart = pos;
      for (;;) {
        const lf = chunk.indexOf(LF, lineStart);
        if (lf === -1 || lf >= limit) break;
        if (lf === lineStart || (lf === lineStart + 1 && chunk[lineStart] === CR)) return lf + 1;
        lineStart = lf + 1;
      }
      if (len - pos >= budget) throw this.#tooLarge();
      this.#carryBytes(chunk, pos, len);
      this.#carryLineStart = lineStart - pos;
      return -1;
    }
    const before = this.#carryLen;
    const take = Math.min(len - pos, budget - before);
    this.#carryBytes(chunk, pos, pos + take);
    const carry = this.#carry!;
    const filled = before + take;
    let lineStart = this.#carryLineStart;
    // No LF before `before`: the carried bytes were scanned when they arrived.
    let from = before;
    for (;;) {
      const lf = carry.indexOf(LF, from);
      if (lf === -1 || lf >= filled) break;
      if (lf === lineStart || (lf === lineStart + 1 && carry[lineStart] === CR)) {
        this.#carryLen = lf + 1;
        return pos + (lf + 1 - before);
      }
      lineStart = from = lf + 1;
    }
    if (filled >= budget) throw this.#tooLarge();
    this.#carryLineStart = lineStart;
    return -1;
  }

  /** Appends `chunk[from, to)` to the carry buffer, growing it (at most to maxHeaderBytes). */
  #carryBytes(chunk: Buffer, from: number, to: number): void {
    const needed = this.#carryLen + (to - from);
    let carry = this.#carry;
    if (carry === null || carry.length < needed) {
      let size = carry === null ? INITIAL_CARRY_BYTES : carry.length * 2;
      while (size < needed) size *= 2;
      // Long-lived per connection: keep it out of Buffer's shared pool.
      const grown = Buffer.allocUnsafeSlow(Math.min(size, this.#maxHeaderBytes));
      if (carry !== null) carry.copy(grown, 0, 0, this.#carryLen);
      this.#carry = carry = grown;
    }
    chunk.copy(carry, this.#carryLen, from, to);
    this.#carryLen = needed;
  }

  /** The block just collected, as one latin1 string (every byte one char). */
  #takeBlock(chunk: Buffer, pos: number, end: number): string {
    if (this.#carryLen === 0) return chunk.toString('latin1', pos, end);
    const block = this.#carry!.toString('latin1', 0, this.#carryLen);
    this.#carryLen = 0;
    return block;
  }

  #tooLarge(): ResponseParseError {
    return this.#state === TRAILERS
      ? this.#fail('UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', `upstream sent too big trailer section (limit ${this.#maxHeaderBytes} bytes)`)
      : this.#fail('UPSTREAM_RESPONSE_HEADERS_TOO_LARGE', `upstream sent too big header (limit ${this.#maxHeaderBytes} bytes)`);
  }

  /** Parses a complete head, then either skips it (interim 1xx) or reports it and sets up the body. Returns `end`. */
  #onHeadBlock(chunk: Buffer, pos: number, end: number): number {
    const block = this.#takeBlock(chunk, pos, end);
    const lineEnd = block.indexOf('\n');
    const status = this.#parseStatusLine(block, lineEnd > 0 && block.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd);
    if (status < 200) {
      // RFC 9110 §15.2: 1xx responses are interim; the final one follows on the same connection.
      if (status === 101) {
        throw this.#fail('UPSTREAM_RESPONSE_UNEXPECTED_UPGRADE', 'upstream sent 101 Switching Protocols to a request that did not ask to upgrade');
      }
      this.#parseFields(block, lineEnd + 1, null);
      this.#budget -= block.length;
      return end;
    }

    this.#hasTransferEncoding = false;
    this.#chunkedLast = false;
    this.#contentLength = -1;
    this.#contentLengthError = null;
    this.#connection = 0;
    this.#keepAliveHeaderMs = -1;
    const headers: string[] = [];
    this.#parseFields(block, lineEnd + 1, headers);

    const te = this.#hasTransferEncoding;
    const hasLength = this.#contentLength >= 0 || this.#contentLengthError !== null;
    let keepAlive = this.#http10
      ? (this.#connection & (CONN_KEEP_ALIVE | CONN_CLOSE)) === CONN_KEEP_ALIVE
      : (this.#connection & CONN_CLOSE) === 0;
    // RFC 9112 §6.1: Transfer-Encoding with Content-Length, or in an HTTP/1.0
    // message, is faulty framing (a smuggling attempt, or a broken hop): read
    // this response by Transfer-Encoding, then close.
    if (te && (hasLength || this.#http10)) keepAlive = false;
    if (!te && this.#contentLengthError !== null) {
      throw this.#fail('UPSTREAM_RESPONSE_INVALID_CONTENT_LENGTH', `upstream sent invalid "Content-Length" header: ${this.#contentLengthError}`);
    }

    // RFC 9112 §6.3, in its order.
    let next: number;
    if (this.#bodiless || status === 204 || status === 304) next = DONE;
    else if (te && this.#chunkedLast) {
      next = CHUNK_SIZE;
      this.#chunkSize = 0;
      this.#chunkDigits = 0;
      this.#chunkLineBytes = 0;
    } else if (te || this.#contentLength < 0) {
      next = BODY_EOF;
      keepAlive = false;
    } else if (this.#contentLength === 0) next = DONE;
    else {
      next = BODY_LENGTH;
      this.#remaining = this.#contentLength;
    }

    this.#keepAlive = keepAlive;
    this.#keepAliveHintMs = this.#keepAliveHeaderMs;
    this.#state = next;
    this.#events.onHead(status, headers);
    return next === DONE ? this.#complete(end) : end;
  }

  /** Validates `HTTP/1.x SP 3DIGIT [SP reason]` in `line[0, end)`; returns the status. */
  #parseStatusLine(line: string, end: number): number {
    if (!line.startsWith('HTTP/1.') || end < 12) {
      throw this.#invalidStatus(line.startsWith('HTTP/') && !line.startsWith('HTTP/1.') ? 'unsupported HTTP version' : 'not an HTTP/1.x status line');
    }
    const minor = line.charCodeAt(7);
    if (minor !== 0x30 && minor !== 0x31) throw this.#invalidStatus('unsupported HTTP version');
    this.#http10 = minor === 0x30;
    if (line.charCodeAt(8) !== SP) throw this.#invalidStatus('no space after the HTTP version');
    let status = 0;
    for (let i = 9; i < 12; i++) {
      const d = line.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) throw this.#invalidStatus('malformed status code');
      status = status * 10 + d;
    }
    if (end > 12) {
      if (line.charCodeAt(12) !== SP) throw this.#invalidStatus('malformed status code');
      for (let i = 13; i < end; i++) {
        if (!isFieldValueChar(line.charCodeAt(i))) throw this.#invalidStatus('control character in the reason phrase');
      }
    }
    if (status < 100 || status > 599) throw this.#invalidStatus(`status code ${status} is out of range`);
    return status;
  }

  #invalidStatus(reason: string): ResponseParseError {
    return this.#fail('UPSTREAM_RESPONSE_INVALID_STATUS', `upstream sent invalid status line: ${reason}`);
  }

  /** Records what a field of the final head says about framing and reuse (`value` holds it in `[from, to)`). */
  #noteFramingField(name: string, value: string, from: number, to: number): void {
    switch (name.length) {
      case 10:
        if (sameHeaderName(name, 'connection')) this.#connection |= connectionTokens(value, from, to);
        else if (sameHeaderName(name, 'keep-alive')) {
          const ms = keepAliveTimeoutMs(value, from, to);
          if (ms >= 0) this.#keepAliveHeaderMs = ms;
        }
        return;
      case 14:
        if (sameHeaderName(name, 'content-length') && this.#contentLengthError === null) {
          const length = contentLengthValue(value, from, to);
          if (typeof length === 'string') this.#contentLengthError = length;
          else if (this.#contentLength >= 0 && this.#contentLength !== length) this.#contentLengthError = 'conflicting values';
          else this.#contentLength = length;
        }
        return;
      case 17:
        if (sameHeaderName(name, 'transfer-encoding')) {
          this.#hasTransferEncoding = true;
          // Several lines form one list (RFC 9110 §5.3): a line without codings leaves the last one standing.
          const last = lastCodingIsChunked(value, from, to);
          if (last >= 0) this.#chunkedLast = last === 1;
        }
        return;
    }
  }

  #invalidField(reason: string): ResponseParseError {
    return this.#state === TRAILERS
      ? this.#fail('UPSTREAM_RESPONSE_INVALID_HEADER', `upstream sent invalid trailer: ${reason}`)
      : this.#fail('UPSTREAM_RESPONSE_INVALID_HEADER', `upstream sent invalid header: ${reason}`);
  }

  /**
   * Parses the field lines of `block` from `start` up to its empty line.
   * With `headers`, names and trimmed values are appended to it and framing
   * fields are reported to the parser; without, lines are only checked.
   */
  #parseFields(block: string, start: number, headers: string[] | null): void {
    for (;;) {
      const lf = block.indexOf('\n', start);
      const end = lf > start && block.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      if (end === start) return; // the empty line that ends the block

      let c = block.charCodeAt(start);
      if (c === SP || c === HTAB) throw this.#invalidField('obsolete line folding'); // RFC 9112 §5.2
      let i = start;
      while (i < end && TCHAR[c] === 1) c = block.charCodeAt(++i);
      if (i === end) throw this.#invalidField('a header line has no colon');
      if (c !== 0x3a) {
        // RFC 9112 §5.1: whitespace between name and colon MUST be rejected (smuggling vector).
        if (c === SP || c === HTAB) throw this.#invalidField(`whitespace before the colon of "${fieldNameForMessage(block, start, i)}"`);
        throw this.#invalidField(`character 0x${c.toString(16).padStart(2, '0')} in a header name`);
      }
      if (i === start) throw this.#invalidField('empty header name');
      const nameEnd = i;

      i++;
      while (i < end && ((c = block.charCodeAt(i)) === SP || c === HTAB)) i++;
      const valueStart = i;
      for (; i < end; i++) {
        c = block.charCodeAt(i);
        if ((c < SP && c !== HTAB) || c === 0x7f) break;
      }
      if (i < end) {
        // A control byte (a CR here is one not followed by LF).
        throw this.#invalidField(`character 0x${block.charCodeAt(i).toString(16).padStart(2, '0')} in the value of "${fieldNameForMessage(block, start, nameEnd)}"`);
      }
      let valueEnd = end;
      while (valueEnd > valueStart && ((c = block.charCodeAt(valueEnd - 1)) === SP || c === HTAB)) valueEnd--;

      if (headers !== null) {
        const name = block.substring(start, nameEnd);
        headers.push(name, block.substring(valueStart, valueEnd));
        this.#noteFramingField(name, block, valueStart, valueEnd);
      }
      start = lf + 1;
    }
  }

  /** Trailer fields are checked like header fields, then dropped: the proxy does not forward trailers. */
  #onTrailerBlock(chunk: Buffer, pos: number, end: number): void {
    this.#parseFields(this.#takeBlock(chunk, pos, end), 0, null);
  }

  // Chunked framing (RFC 9112 §7.1) -----------------------------------------------------------------

  /**
   * Walks the framing bytes around chunk data: the chunk-size line and the
   * CRLF after the data. Stops where data or the trailer section begins.
   */
  #chunkFraming(chunk: Buffer, pos: number): number {
    const len = chunk.length;
    let state = this.#state;
    while (pos < len) {
      const c = chunk[pos++]!;
      // States CHUNK_SIZE..CHUNK_EXT are the chunk-size line itself.
      if (state <= CHUNK_EXT && ++this.#chunkLineBytes > MAX_CHUNK_LINE_BYTES) {
        throw this.#invalidChunk(`chunk size line is longer than ${MAX_CHUNK_LINE_BYTES} bytes`);
      }
      switch (state) {
        case CHUNK_SIZE: {
          const digit = HEX[c]!;
          if (digit >= 0) {
            if (++this.#chunkDigits > MAX_CHUNK_SIZE_DIGITS) throw this.#invalidChunk('chunk size has too many digits');
            this.#chunkSize = this.#chunkSize * 16 + digit;
            if (this.#chunkSize > Number.MAX_SAFE_INTEGER) throw this.#invalidChunk('chunk size is too large');
            break;
          }
          if (this.#chunkDigits === 0) throw this.#invalidChunk('chunk size is not a hex number');
          if (c === CR) state = CHUNK_SIZE_LF;
          else if (c === LF) return this.#chunkSizeLineEnd(pos);
          else if (c === SP || c === HTAB) state = CHUNK_SIZE_OWS;
          else if (c === 0x3b) state = CHUNK_EXT;
          else throw this.#invalidChunk('chunk size is not a hex number');
          break;
        }
        case CHUNK_SIZE_OWS:
          // "5 6" must not read as a 5-byte chunk: after BWS only ";" starts an extension.
          if (c === CR) state = CHUNK_SIZE_LF;
          else if (c === LF) return this.#chunkSizeLineEnd(pos);
          else if (c === 0x3b) state = CHUNK_EXT;
          else if (c !== SP && c !== HTAB) throw this.#invalidChunk('chunk size is not a hex number');
          break;
        case CHUNK_EXT:
          if (c === CR) state = CHUNK_SIZE_LF;
          else if (c === LF) return this.#chunkSizeLineEnd(pos);
          else if (!isFieldValueChar(c)) throw this.#invalidChunk('control character in a chunk extension');
          break;
        case CHUNK_SIZE_LF:
          if (c !== LF) throw this.#invalidChunk('CR without LF after the chunk size');
          return this.#chunkSizeLineEnd(pos);
        case CHUNK_DATA_END:
          if (c === CR) state = CHUNK_DATA_LF;
          else if (c === LF) state = this.#nextChunk();
          else throw this.#invalidChunk('chunk data is not followed by CRLF');
          break;
        case CHUNK_DATA_LF:
          if (c !== LF) throw this.#invalidChunk('chunk data is not followed by CRLF');
          state = this.#nextChunk();
          break;
      }
    }
    this.#state = state;
    return pos;
  }

  #nextChunk(): number {
    this.#chunkSize = 0;
    this.#chunkDigits = 0;
    this.#chunkLineBytes = 0;
    return CHUNK_SIZE;
  }

  #chunkSizeLineEnd(pos: number): number {
    if (this.#chunkSize === 0) {
      // The last chunk; the trailer section (maybe just an empty line) follows.
      this.#state = TRAILERS;
      this.#budget = this.#maxHeaderBytes;
    } else {
      this.#state = CHUNK_DATA;
      this.#remaining = this.#chunkSize;
    }
    return pos;
  }

  #invalidChunk(reason: string): ResponseParseError {
    return this.#fail('UPSTREAM_RESPONSE_INVALID_CHUNK', `upstream sent invalid chunked response: ${reason}`);
  }
}

// Field lines (RFC 9112 §5, RFC 9110 §5.5) --------------------------------------------------------------

/** HTAB, SP, VCHAR and obs-text: what a field value (or reason phrase, or chunk extension) may hold. */
function isFieldValueChar(c: number): boolean {
  return c >= SP ? c !== 0x7f : c === HTAB;
}

/** A field name for an error message: names are not secret, but a hostile one can be long. */
function fieldNameForMessage(block: string, start: number, end: number): string {
  return end - start > 64 ? `${block.substring(start, start + 64)}...` : block.substring(start, end);
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * `s[from, to)` equals `lower` (letters and `-`) ignoring ASCII case. OR-ing
 * 0x20 is exact on a checked field value: besides letters, only CR maps
 * onto a letter or `-`, and values hold no CR.
 */
function rangeIs(s: string, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((s.charCodeAt(from + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The value of a Content-Length field in `s[from, to)`, or why it is
 * invalid. RFC 9110 §8.6: a list of identical values (from a hop that merged
 * fields) is taken as that value; digits only, no sign, no inner spaces.
 */
function contentLengthValue(s: string, from: number, to: number): number | string {
  let result = -1;
  let value = -1; // of the current list element; -1 before its first digit
  let afterDigits = false; // OWS was seen after the element's digits
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : COMMA; // a virtual comma ends the last element
    if (c === COMMA) {
      if (value < 0) return 'empty value';
      if (result >= 0 && result !== value) return 'conflicting values';
      result = value;
      value = -1;
      afterDigits = false;
    } else if (isOws(c)) {
      if (value >= 0) afterDigits = true;
    } else {
      const d = c - 0x30;
      if (d < 0 || d > 9 || afterDigits) return 'not a decimal number';
      value = value < 0 ? d : value * 10 + d;
      if (value > Number.MAX_SAFE_INTEGER) return 'too large';
    }
  }
  return result;
}

/**
 * Whether the last transfer coding listed in `s[from, to)` is `chunked`:
 * 1 yes, 0 no, -1 when the list holds no coding at all.
 */
function lastCodingIsChunked(s: string, from: number, to: number): number {
  let end = to;
  while (end > from) {
    let start = end;
    while (start > from && s.charCodeAt(start - 1) !== COMMA) start--;
    let a = start;
    let b = end;
    while (a < b && isOws(s.charCodeAt(a))) a++;
    while (b > a && isOws(s.charCodeAt(b - 1))) b--;
    if (a < b) return rangeIs(s, a, b, 'chunked') ? 1 : 0;
    end = start - 1; // skip an empty element and its comma
  }
  return -1;
}

/** CONN_CLOSE / CONN_KEEP_ALIVE bits for the tokens of a Connection field in `s[from, to)`. */
function connectionTokens(s: string, from: number, to: number): number {
  let bits = 0;
  let start = from;
  while (start < to) {
    let end = start;
    while (end < to && s.charCodeAt(end) !== COMMA) end++;
    let a = start;
    let b = end;
    while (a < b && isOws(s.charCodeAt(a))) a++;
    while (b > a && isOws(s.charCodeAt(b - 1))) b--;
    if (rangeIs(s, a, b, 'close')) bits |= CONN_CLOSE;
    else if (rangeIs(s, a, b, 'keep-alive')) bits |= CONN_KEEP_ALIVE;
    start = end + 1;
  }
  return bits;
}

/**
 * `timeout=N` (seconds) of a Keep-Alive field in `s[from, to)` as ms, or -1
 * when there is none or it is not a plain non-negative integer.
 *
 * @example keepAliveTimeoutMs('timeout=5, max=100', 0, 18) // 5000
 */
function keepAliveTimeoutMs(s: string, from: number, to: number): number {
  let start = from;
  while (start < to) {
    let end = start;
    while (end < to && s.charCodeAt(end) !== COMMA) end++;
    let a = start;
    while (a < end && isOws(s.charCodeAt(a))) a++;
    if (end - a > 7 && rangeIs(s, a, a + 7, 'timeout')) {
      let i = a + 7;
      while (i < end && isOws(s.charCodeAt(i))) i++;
      if (i < end && s.charCodeAt(i) === 0x3d) {
        i++;
        while (i < end && isOws(s.charCodeAt(i))) i++;
        let b = end;
        while (b > i && isOws(s.charCodeAt(b - 1))) b--;
        let seconds = b > i ? 0 : -1;
        for (; i < b && seconds >= 0; i++) {
          const d = s.charCodeAt(i) - 0x30;
          seconds = d >= 0 && d <= 9 ? seconds * 10 + d : -1;
        }
        const ms = seconds * 1000;
        return seconds >= 0 && Number.isSafeInteger(ms) ? ms : -1;
      }
    }
    start = end + 1;
  }
  return -1;
}
