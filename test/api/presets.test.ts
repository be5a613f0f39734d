import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

const REQUIRED = {
  interior: { concepts: ['wall', 'floor', 'ceiling', 'sofa', 'curtain', 'cabinet', 'rug', 'bed'], protect: ['person', 'window', 'plant'] },
  seller: { concepts: ['product', 'background', 'table', 'model', 'shadow'], protect: ['product', 'person', 'logo'] },
};

describeEachDatabase('GET /presets', (db) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(db());
  });
  after(() => api.close());

  it('lists both palettes with counts, without a token', async () => {
    const res = await api.request('GET', '/presets');
    assert.equal(res.status, 200);
    const byId = Object.fromEntries(res.body.data.map((p: any) => [p.id, p]));
    assert.deepEqual(Object.keys(byId).sort(), ['interior', 'seller']);
    assert.deepEqual(byId.interior.name, { ko: '인테리어', en: 'Interior' });
    assert.equal(byId.interior.concept_count, REQUIRED.interior.concepts.length);
    assert.equal(byId.seller.protect_count, REQUIRED.seller.protect.length);
  });

  for (const [id, want] of Object.entries(REQUIRED)) {
    it(`returns ${id} in full: every concept with a prompt and a default operation, protect, ≥ 8 swatches`, async () => {
      const res = await api.request('GET', `/presets/${id}`);
      assert.equal(res.status, 200);
      const p = res.body.data;
      assert.deepEqual(
        p.concepts.map((c: any) => c.id),
        want.concepts,
      );
      assert.deepEqual(
        p.protect.map((c: any) => c.id),
        want.protect,
      );
      for (const c of p.concepts) {
        assert.match(c.prompt, /^[a-z]+$/);
        assert.ok(['recolor', 'replace', 'blur'].includes(c.default_operation.op));
        assert.ok(c.label.ko && c.label.en);
      }
      for (const c of p.protect) assert.equal(typeof c.default_on, 'boolean');
      assert.ok(p.palette.length >= 8);
      for (const s of p.palette) assert.match(s.hex, /^#[0-9A-F]{6}$/);
    });
  }

  it('answers an unknown preset with 404 NOT_FOUND', async () => {
    const res = await api.request('GET', '/presets/garden');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  });
});
