import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { crc32 } from './crc32.js';
import { encodeFrame, FRAME_HEADER_BYTES, scanFrames } from './frame.js';

describe('crc32', () => {
  test('matches the standard check value and zlib', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
    const zlibCrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(i * 37);
      if (zlibCrc) assert.equal(crc32(data), zlibCrc(data));
      assert.equal(crc32(Buffer.concat([Buffer.from('xx'), data]), 2), crc32(data), 'range start');
    }
  });
});

describe('scanFrames', () => {
  const payloads = ['first', 'second record', '', 'fourth'].map((s) => Buffer.from(s));
  const clean = Buffer.concat(payloads.map(encodeFrame));

  test('reads back every frame of a clean buffer', () => {
    const scan = scanFrames(clean);
    assert.equal(scan.damage, undefined);
    assert.equal(scan.validLength, clean.length);
    assert.deepEqual(scan.frames.map((f) => f.payload.toString()), ['first', 'second record', '', 'fourth']);
  });

  test('a cut-short last frame is damage with nothing valid after it (a torn tail)', () => {
    for (let cut = 1; cut < FRAME_HEADER_BYTES + 6; cut++) {
      const scan = scanFrames(clean.subarray(0, clean.length - cut));
      assert.equal(scan.frames.length, 3, `cut ${cut}`);
      assert.deepEqual(scan.damage, { offset: scan.validLength, validFrameAfter: false });
    }
  });

  test('a flipped bit in a middle frame is damage followed by valid frames', () => {
    const bytes = Buffer.from(clean);
    const second = scanFrames(clean).frames[1]?.offset as number;
    for (const at of [second + 2, second + 5, second + 9, second + FRAME_HEADER_BYTES + 3]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] as number) ^ 0x10;
      const scan = scanFrames(damaged);
      assert.equal(scan.frames.length, 1, `byte ${at}`);
      assert.deepEqual(scan.damage, { offset: second, validFrameAfter: true });
    }
  });
});
