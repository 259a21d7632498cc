import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { isBodyTooLarge, limitBody, RequestBodyTooLargeError } from './body-limit.js';

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('limitBody', () => {
  test('passes a body up to the limit unchanged', async () => {
    const source = new PassThrough();
    const limited = limitBody(source, 6);
    source.write('abc');
    source.end('def');
    assert.equal(await drain(limited), 'abcdef');
  });

  test('fails past the limit, and leaves the source alive', async () => {
    const source = new PassThrough();
    const limited = limitBody(source, 4);
    source.write('abc');
    source.write('de');
    await assert.rejects(drain(limited), RequestBodyTooLargeError);
    assert.equal(source.destroyed, false, 'the client connection must survive to get its 413');
  });

  test('a failing source fails the limited stream', async () => {
    const source = new PassThrough();
    const limited = limitBody(source, 100);
    source.destroy(new Error('client reset'));
    await assert.rejects(drain(limited), /client reset/);
  });

  test('isBodyTooLarge looks through wrapping errors', () => {
    const tooLarge = new RequestBodyTooLargeError(10);
    assert.equal(isBodyTooLarge(tooLarge), true);
    assert.equal(isBodyTooLarge(new Error('wrapped', { cause: new Error('twice', { cause: tooLarge }) })), true);
    assert.equal(isBodyTooLarge(new Error('other')), false);
    assert.equal(isBodyTooLarge(undefined), false);
  });
});
