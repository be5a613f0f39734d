/**
 * Uploads are bound to what the ticket promised, by the store itself (real SeaweedFS SigV4 checks): a body of
 * another Content-Type or size is refused, an input is written once, and what was stored is served back as the
 * declared image type, as a download.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../domain/config';
import { createStorage, type Storage } from '../../services/storage';

describe('upload tickets and input URLs (SeaweedFS)', function () {
  let storage: Storage;
  before(() => {
    storage = createStorage(parseConfig(process.env));
  });
  after(() => storage?.destroy());

  const jpeg = Buffer.from([0xff, 0xd8, 0xff]);
  const promised = { 'Content-Type': 'image/jpeg', 'If-None-Match': '*' };

  it('refuses a PUT whose Content-Type is not the ticket’s, and takes the promised one', async () => {
    const key = `inputs/test/${randomUUID()}/0.jpg`;
    const url = await storage.presignPut(key, 'image/jpeg', jpeg.length, 600);
    const html = await fetch(url, { method: 'PUT', headers: { ...promised, 'Content-Type': 'text/html' }, body: '<s>' });
    assert.equal(html.status, 403, await html.text());
    assert.equal(await storage.head(key), null, 'nothing stored');
    const none = await fetch(url, { method: 'PUT', headers: { 'If-None-Match': '*' }, body: jpeg });
    assert.equal(none.status, 403, 'a PUT without the signed Content-Type is refused too');
    const ok = await fetch(url, { method: 'PUT', headers: promised, body: jpeg });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await storage.head(key))?.contentType, 'image/jpeg');
  });

  it('refuses a PUT of another size than the ticket’s, larger or smaller', async () => {
    const key = `inputs/test/${randomUUID()}/0.jpg`;
    const url = await storage.presignPut(key, 'image/jpeg', jpeg.length, 600);
    for (const body of [Buffer.alloc(1024 * 1024, 0xff), jpeg.subarray(0, 2)]) {
      const res = await fetch(url, { method: 'PUT', headers: promised, body });
      assert.equal(res.status, 403, `${body.length} bytes: ${await res.text()}`);
    }
    assert.equal(await storage.head(key), null, 'nothing stored');
  });

  it('writes an input once: a second PUT of the ticket, or one without If-None-Match, is refused', async () => {
    const key = `inputs/test/${randomUUID()}/0.jpg`;
    const url = await storage.presignPut(key, 'image/jpeg', jpeg.length, 600);
    const unconditional = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: jpeg });
    assert.equal(unconditional.status, 403, 'If-None-Match is signed');
    assert.equal((await fetch(url, { method: 'PUT', headers: promised, body: jpeg })).status, 200);
    const again = await fetch(url, { method: 'PUT', headers: promised, body: Buffer.from([0xff, 0xd8, 0x00]) });
    assert.equal(again.status, 412, await again.text());
    assert.deepEqual(await storage.get(key), jpeg, 'the first upload stays');
    assert.equal(await storage.putIfAbsent(key, Buffer.alloc(0), 'application/octet-stream'), false);
  });

  it('serves an input back as the declared image type with Content-Disposition: attachment', async () => {
    const key = `inputs/test/${randomUUID()}/0.png`;
    await storage.put(key, Buffer.from('<html><script>alert(1)</script></html>'), 'text/html'); // whatever was stored
    const res = await fetch(await storage.presignGet(key, 600, { contentType: 'image/png', attachment: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
  });
});
