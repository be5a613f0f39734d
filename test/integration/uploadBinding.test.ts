/**
 * Uploads are bound to what the ticket promised, by the store itself (real SeaweedFS SigV4 checks): a body of
 * another Content-Type is refused, and what was stored is served back as the declared image type, as a download.
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

  it('refuses a PUT whose Content-Type is not the ticket’s, and takes the promised one', async () => {
    const key = `inputs/test/${randomUUID()}/0.jpg`;
    const url = await storage.presignPut(key, 'image/jpeg', 600);
    const html = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: '<script>alert(1)</script>' });
    assert.equal(html.status, 403, await html.text());
    assert.equal(await storage.head(key), null, 'nothing stored');
    const none = await fetch(url, { method: 'PUT', body: Buffer.from([0xff, 0xd8, 0xff]) });
    assert.equal(none.status, 403, 'a PUT without the signed Content-Type is refused too');
    const ok = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: Buffer.from([0xff, 0xd8, 0xff]) });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await storage.head(key))?.contentType, 'image/jpeg');
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
