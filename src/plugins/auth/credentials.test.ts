import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, ConsumerEntry } from '../../pdk/context.js';
import { createEntryLookup, isSecretReference, withoutCookie, withoutQueryArg } from './credentials.js';

const consumer = (username: string): Consumer => ({ username, plugins: {}, modifiedIndex: 1 });

describe('createEntryLookup', () => {
  const jack: ConsumerEntry = { consumer: consumer('jack'), conf: { key: 'k-jack' } };
  const jackCred: ConsumerEntry = { consumer: consumer('jack'), conf: { key: 'k-cred' }, credentialId: 'c1' };
  const clash: ConsumerEntry = { consumer: consumer('mallory'), conf: { key: 'k-jack' } };
  const envRef: ConsumerEntry = { consumer: consumer('env'), conf: { key: '$env://KEY' } };
  const secretRef: ConsumerEntry = { consumer: consumer('vault'), conf: { key: '$secret://vault/1/k' } };
  const noKey: ConsumerEntry = { consumer: consumer('nokey'), conf: { key: 42 } };

  test('finds consumers and credentials by the field value; the first of equal values wins', () => {
    const lookup = createEntryLookup('key');
    const entries = [jack, jackCred, clash, noKey];
    assert.equal(lookup(entries, 'k-jack'), jack);
    assert.equal(lookup(entries, 'k-cred'), jackCred);
    assert.equal(lookup(entries, 'nope'), undefined);
    assert.equal(lookup(entries, '42'), undefined, 'only string values are keys');
  });

  test('secret references are never matched literally', () => {
    const lookup = createEntryLookup('key');
    const entries = [envRef, secretRef];
    assert.equal(lookup(entries, '$env://KEY'), undefined);
    assert.equal(lookup(entries, '$secret://vault/1/k'), undefined);
    assert.equal(isSecretReference('$ENV://X'), true);
    assert.equal(isSecretReference('plain$env://'), false);
  });

  test('the index belongs to one entries array: a new array (new configuration) is indexed anew', () => {
    const lookup = createEntryLookup('key');
    const before = [jack];
    assert.equal(lookup(before, 'k-jack'), jack);
    const after = [jackCred];
    assert.equal(lookup(after, 'k-jack'), undefined);
    assert.equal(lookup(after, 'k-cred'), jackCred);
    assert.equal(lookup(before, 'k-jack'), jack);
  });
});

describe('withoutQueryArg', () => {
  test('drops every occurrence of the name and keeps the rest as written', () => {
    assert.equal(withoutQueryArg('a=1&apikey=k&b=%20x&apikey=2', 'apikey'), 'a=1&b=%20x');
    assert.equal(withoutQueryArg('apikey=k', 'apikey'), '');
    assert.equal(withoutQueryArg('apikey', 'apikey'), '', 'a bare flag');
    assert.equal(withoutQueryArg('api%6Bey=k&x=1', 'apikey'), 'x=1', 'names compare decoded');
    assert.equal(withoutQueryArg('apikeys=1&&x=2', 'apikey'), 'apikeys=1&x=2');
    assert.equal(withoutQueryArg('', 'apikey'), '');
  });
});

describe('withoutCookie', () => {
  test('drops the named cookie and keeps the others', () => {
    assert.equal(withoutCookie('a=1; jwt=x.y.z; b=2', 'jwt'), 'a=1; b=2');
    assert.equal(withoutCookie('jwt=x;a=1', 'jwt'), 'a=1');
    assert.equal(withoutCookie('jwt=x', 'jwt'), undefined);
    assert.equal(withoutCookie('jwtx=1; xjwt=2', 'jwt'), 'jwtx=1; xjwt=2');
  });
});
