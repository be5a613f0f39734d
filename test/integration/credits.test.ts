import assert from 'node:assert/strict';
import { v7 as uuidv7 } from 'uuid';
import { PLANS } from '../../domain/plans';
import { createCredits, JobSettledError, type Credits } from '../../services/credits';
import { User } from '../../entities/User';
import { describeEachDatabase } from '../support/databases';

/** The ledger must explain the user row: grants - charges = balance, reserves - charges - releases = reserved. */
async function assertLedgerBalances(credits: Credits, user: User, ds: import('typeorm').DataSource) {
  const row = await ds.getRepository(User).findOneByOrFail({ id: user.id });
  const events = await credits.ledger(user.id);
  const sum = (k: string) => events.filter((e) => e.kind === k).reduce((a, e) => a + e.amount, 0);
  assert.equal(sum('grant') - sum('charge'), row.balance, 'balance = grants - charges');
  assert.equal(sum('reserve') - sum('charge') - sum('release'), row.reserved, 'reserved = reserves - charges - releases');
  const last = events.at(-1)!;
  assert.equal(last.balanceAfter, row.balance);
  assert.equal(last.reservedAfter, row.reserved);
  return row;
}

describeEachDatabase('credit ledger', (db) => {
  let credits: Credits;
  before(() => {
    credits = createCredits(db().ds);
  });

  it('grants sign-up credits through the ledger', async () => {
    const user = await credits.createUser('free');
    assert.equal(user.balance, PLANS.free.signupCredits);
    const events = await credits.ledger(user.id);
    assert.deepEqual(
      events.map((e) => [e.kind, e.amount]),
      [['grant', PLANS.free.signupCredits]],
    );
  });

  it('reserve is idempotent per job and settle charges done items and releases the rest exactly once', async () => {
    const user = await credits.createUser('free');
    const job = uuidv7();
    assert.deepEqual(await credits.reserve(user.id, job, 12), { ok: true, amount: 12 });
    assert.deepEqual(await credits.reserve(user.id, job, 12), { ok: true, amount: 12 });
    let row = await assertLedgerBalances(credits, user, db().ds);
    assert.equal(row.reserved, 12);
    assert.equal(row.activeJobs, 1);
    assert.deepEqual(await credits.settle(user.id, job, 7), { charged: 7, released: 5 });
    assert.deepEqual(await credits.settle(user.id, job, 9), { charged: 7, released: 5 }, 'second settle changes nothing');
    row = await assertLedgerBalances(credits, user, db().ds);
    assert.equal(row.balance, PLANS.free.signupCredits - 7);
    assert.equal(row.reserved, 0);
    assert.equal(row.activeJobs, 0);
  });

  it('refuses a reservation beyond the available credits with the numbers the API reports', async () => {
    const user = await credits.createUser('free');
    const out = await credits.reserve(user.id, uuidv7(), PLANS.free.signupCredits + 1);
    assert.deepEqual(out, {
      ok: false,
      code: 'INSUFFICIENT_CREDITS',
      needed: PLANS.free.signupCredits + 1,
      available: PLANS.free.signupCredits,
    });
  });

  it("refuses a reservation beyond the plan's active-job limit", async () => {
    const user = await credits.createUser('free');
    for (let i = 0; i < PLANS.free.maxActiveJobs; i++) assert.equal((await credits.reserve(user.id, uuidv7(), 1)).ok, true);
    const out = await credits.reserve(user.id, uuidv7(), 1);
    assert.deepEqual(out, { ok: false, code: 'TOO_MANY_ACTIVE_JOBS', limit: PLANS.free.maxActiveJobs, active: PLANS.free.maxActiveJobs });
  });

  it('50 parallel reservations against a balance that covers 10 succeed exactly 10 times', async function () {
    this.timeout(60_000);
    const ds = db().ds;
    // A studio user so the active-job limit (10) is not what stops them; balance covers exactly 10 jobs of 10 credits.
    const user = await credits.createUser('studio');
    await credits.grant(user.id, 100, `test-grant:${user.id}`);
    await credits.grant(user.id, 100, `test-grant:${user.id}`); // idempotent per ref
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => credits.reserve(user.id, uuidv7(), 10)));
    assert.equal(outcomes.filter((o) => o.ok).length, 10);
    assert.ok(outcomes.filter((o) => !o.ok).every((o) => !o.ok && o.code === 'INSUFFICIENT_CREDITS'));
    const row = await assertLedgerBalances(credits, user, ds);
    assert.equal(row.reserved, 100);
    assert.equal(row.balance, 100);
  });

  it('concurrent settles of one job record one charge and one release', async () => {
    const user = await credits.createUser('free');
    const job = uuidv7();
    await credits.reserve(user.id, job, 5);
    const outs = await Promise.all(Array.from({ length: 8 }, () => credits.settle(user.id, job, 3)));
    assert.ok(outs.every((o) => o.charged === 3 && o.released === 2));
    const kinds = (await credits.ledger(user.id)).map((e) => e.kind);
    assert.deepEqual(kinds, ['grant', 'reserve', 'charge', 'release']);
    await assertLedgerBalances(credits, user, db().ds);
  });

  it('a reservation arriving after its job settled is refused, so no hold can leak', async () => {
    const user = await credits.createUser('free');
    const job = uuidv7();
    assert.deepEqual(await credits.settle(user.id, job, 0), { charged: 0, released: 0 });
    await assert.rejects(credits.reserve(user.id, job, 5), JobSettledError);
    const row = await assertLedgerBalances(credits, user, db().ds);
    assert.deepEqual([row.reserved, row.activeJobs], [0, 0]);
  });

  it('a reservation racing its settle either counts and is released, or is refused', async () => {
    const user = await credits.createUser('free');
    const job = uuidv7();
    const [reserved] = await Promise.allSettled([credits.reserve(user.id, job, 5), credits.settle(user.id, job, 0)]);
    await credits.settle(user.id, job, 0);
    assert.ok(reserved.status === 'fulfilled' || reserved.reason instanceof JobSettledError);
    const row = await assertLedgerBalances(credits, user, db().ds);
    assert.deepEqual([row.balance, row.reserved, row.activeJobs], [PLANS.free.signupCredits, 0, 0]);
  });

  it('settles a job of a user that does not exist to zero, without failing', async () => {
    assert.deepEqual(await credits.settle(uuidv7(), uuidv7(), 3), { charged: 0, released: 0 });
  });
});
