/**
 * Framing of the embedded store's files (the write-ahead log and the
 * snapshot): each record is
 *
 *   magic u32 | payload length u32 | CRC-32 of payload u32 | payload
 *
 * (big-endian). The magic lets recovery look for a later valid record after a
 * damaged one: a damaged record with nothing valid after it is a torn tail
 * (the process died mid-append) and is cut away; a damaged record followed by
 * valid ones is corruption in the middle, which must not be skipped silently.
 */
import { crc32 } from './crc32.js';

/** "FNG1": marks the start of a record. */
export const FRAME_MAGIC = 0x464e4731;
export const FRAME_HEADER_BYTES = 12;
/** Upper bound on one record; a larger length field is damage, not data. */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

const MAGIC_BYTES = Buffer.from([0x46, 0x4e, 0x47, 0x31]);

/**
 * @example
 *   await file.write(encodeFrame(Buffer.from(JSON.stringify(record))));
 */
export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(FRAME_MAGIC, 0);
  frame.writeUInt32BE(payload.length, 4);
  frame.writeUInt32BE(crc32(payload), 8);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedFrame {
  /** Offset of the frame's header in the buffer. */
  readonly offset: number;
  readonly payload: Buffer;
}

export interface FrameScan {
  readonly frames: DecodedFrame[];
  /** Bytes from the start that hold whole, valid frames. */
  readonly validLength: number;
  /**
   * Where a damaged or incomplete frame starts, if the buffer does not end
   * cleanly, and whether a valid frame follows it somewhere later.
   */
  readonly damage?: { readonly offset: number; readonly validFrameAfter: boolean };
}

/**
 * Splits `buf` into frames, stopping at the first damaged one.
 *
 * @example
 *   const { frames, damage } = scanFrames(await readFile(path));
 */
export function scanFrames(buf: Buffer): FrameScan {
  const frames: DecodedFrame[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const end = frameEndAt(buf, offset);
    if (end === undefined) {
      return { frames, validLength: offset, damage: { offset, validFrameAfter: findFrame(buf, offset + 1) !== -1 } };
    }
    frames.push({ offset, payload: buf.subarray(offset + FRAME_HEADER_BYTES, end) });
    offset = end;
  }
  return { frames, validLength: offset };
}

/** End offset of a whole, checksum-valid frame starting at `offset`, else undefined. */
function frameEndAt(buf: Buffer, offset: number): number | undefined {
  if (buf.length - offset < FRAME_HEADER_BYTES) return undefined;
  if (buf.readUInt32BE(offset) !== FRAME_MAGIC) return undefined;
  const length = buf.readUInt32BE(offset + 4);
  const start = offset + FRAME_HEADER_BYTES;
  if (length > MAX_FRAME_PAYLOAD || start + length > buf.length) return undefined;
  if (crc32(buf, start, start + length) !== buf.readUInt32BE(offset + 8)) return undefined;
  return start + length;
}

/** Offset of the first valid frame at or after `from`, or -1. */
function findFrame(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(MAGIC_BYTES, from); at !== -1; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if (frameEndAt(buf, at) !== undefined) return at;
  }
  return -1;
}
