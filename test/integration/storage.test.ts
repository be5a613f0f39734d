/**
 * The storage module against the real SeaweedFS S3 server of the global setup: the same S3 API (and SigV4 checks)
 * that R2/S3 apply in production.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../domain/config';
import { createStorage, type Storage } from '../../services/storage';

/** Changes one character of the X-Amz-Signature query parameter (hex), keeping it well-formed. */
function tamperSignature(url: string): string {
  const u = new URL(url);
  const sig = u.searchParams.get('X-Amz-Signature');
  assert.ok(sig, 'presigned URL has an X-Amz-Signature');
  const last = sig.at(-1)!;
  u.searchParams.set('X-Amz-Signature', sig.slice(0, -1) + (last === '0' ? '1' : '0'));
  return u.toString();
}

describe('storage (SeaweedFS)', function () {
  let storage: Storage;
  const key = (name: string) => `test/${randomUUID()}/${name}`;

  before(function () {
    storage = createStorage(parseConfig(process.env));
  });
  after(() => storage?.destroy());

  it('round-trips put, head and get', async () => {
    const k = key('hello.txt');
    const body = Buffer.from('hello seaweed');
    await storage.put(k, body, 'text/plain');
    assert.deepEqual(await storage.head(k), { size: body.length, contentType: 'text/plain' });
    assert.deepEqual(await storage.get(k), body);
  });

  it('returns null from head for a missing key', async () => {
    assert.equal(await storage.head(key('missing.bin')), null);
  });

  it('accepts an upload to a presigned PUT URL with plain fetch, and serves it from a presigned GET URL', async () => {
    const k = key('photo.jpg');
    const body = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    const putUrl = await storage.presignPut(k, 'image/jpeg', body.length, 300);
    const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'image/jpeg', 'if-none-match': '*' } });
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(await storage.head(k), { size: body.length, contentType: 'image/jpeg' });

    const get = await fetch(await storage.presignGet(k, 300));
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), body);
  });

  it('refuses a presigned PUT URL whose signature was altered', async () => {
    const k = key('forged.jpg');
    const url = tamperSignature(await storage.presignPut(k, 'image/jpeg', 1, 300));
    const res = await fetch(url, {
      method: 'PUT',
      body: Buffer.from('x'),
      headers: { 'content-type': 'image/jpeg', 'if-none-match': '*' },
    });
    assert.equal(res.status, 403, await res.text());
    assert.equal(await storage.head(k), null);
  });

  it('refuses a presigned GET URL whose signature was altered', async () => {
    const k = key('secret.txt');
    await storage.put(k, Buffer.from('secret'), 'text/plain');
    const res = await fetch(tamperSignature(await storage.presignGet(k, 300)));
    assert.equal(res.status, 403);
  });

  it('refuses anonymous requests', async () => {
    const k = key('private.txt');
    await storage.put(k, Buffer.from('private'), 'text/plain');
    const cfg = parseConfig(process.env);
    const res = await fetch(`${cfg.STORAGE_S3_ENDPOINT}/${cfg.STORAGE_BUCKET}/${k}`);
    assert.equal(res.status, 403);
  });

  it('refuses requests signed with a wrong secret key', async () => {
    const wrong = createStorage({ ...parseConfig(process.env), STORAGE_SECRET_KEY: 'not-the-secret-key' });
    try {
      await assert.rejects(wrong.put(key('nope.txt'), Buffer.from('x'), 'text/plain'), (err: unknown) => {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        assert.equal(e.$metadata?.httpStatusCode, 403);
        assert.equal(e.name, 'SignatureDoesNotMatch');
        return true;
      });
    } finally {
      wrong.destroy();
    }
  });
});
