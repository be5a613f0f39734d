/**
 * The credit ledger. Every change to a user's credits is one conditional UPDATE of the user row plus append-only
 * `billing_events` rows in the same transaction; the unique (ref, kind) index makes each operation idempotent per job,
 * and the conditional UPDATE (row lock on MySQL, a single writer on SQLite) makes it safe under concurrency.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { ReserveResult } from '../domain/jobData';
import { planOf, type PlanId } from '../domain/plans';
import { BillingEvent, type BillingKind } from '../entities/BillingEvent';
import { User } from '../entities/User';
import { inTransaction, isDuplicateKey as isDuplicate } from './transaction';

/** What a settlement charged and released. */
export interface Settlement {
  charged: number;
  released: number;
}

/** Thrown by reserve() for a job that has already settled (its reservation came too late to count). */
export class JobSettledError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} has already settled`);
    this.name = 'JobSettledError';
  }
}

/**
 * Locks the user row for the rest of the transaction (SELECT … FOR UPDATE on MySQL; SQLite transactions are already
 * serialized by inTransaction) and returns it, so decisions taken on it cannot race another writer.
 */
export async function lockUser(m: EntityManager, userId: string): Promise<User> {
  const sqlite = m.connection.options.type === 'better-sqlite3';
  const user = await m.findOne(User, { where: { id: userId }, ...(sqlite ? {} : { lock: { mode: 'pessimistic_write' as const } }) });
  if (!user) throw new UnknownUserError(userId);
  return user;
}

/** Thrown when the user of a ledger operation does not exist. */
export class UnknownUserError extends Error {
  constructor(userId: string) {
    super(`unknown user ${userId}`);
    this.name = 'UnknownUserError';
  }
}

/** The ledger service. */
export function createCredits(ds: DataSource) {
  const events = ds.getRepository(BillingEvent);
  const users = ds.getRepository(User);

  function eventRow(
    user: User,
    ref: string,
    jobId: string | null,
    kind: BillingKind,
    amount: number,
    balanceAfter: number,
    reservedAfter: number,
  ) {
    return { userId: user.id, jobId, ref, kind, amount, balanceAfter, reservedAfter, createdAt: new Date() };
  }

  return {
    /** Creates a user on `planId` with the plan's sign-up grant recorded in the ledger. */
    async createUser(planId: PlanId = 'free'): Promise<User> {
      const plan = planOf(planId);
      const user = users.create({
        id: uuidv7(),
        plan: plan.id,
        balance: plan.signupCredits,
        reserved: 0,
        activeJobs: 0,
        createdAt: new Date(),
      });
      await inTransaction(ds, async (m) => {
        await m.insert(User, user);
        await m.insert(BillingEvent, eventRow(user, `signup:${user.id}`, null, 'grant', plan.signupCredits, user.balance, 0));
      });
      return user;
    },

    /** Adds credits (a purchase, a support gesture); idempotent per `ref`. */
    async grant(userId: string, amount: number, ref: string): Promise<void> {
      if ((await events.countBy({ ref, kind: 'grant' })) > 0) return;
      try {
        await inTransaction(ds, async (m) => {
          const res = await m
            .createQueryBuilder()
            .update(User)
            .set({ balance: () => 'balance + :amount' })
            .where('id = :userId')
            .setParameters({ amount, userId })
            .execute();
          if (!res.affected) throw new UnknownUserError(userId);
          const u = await m.findOneByOrFail(User, { id: userId });
          await m.insert(BillingEvent, eventRow(u, ref, null, 'grant', amount, u.balance, u.reserved));
        });
      } catch (err) {
        if (!isDuplicate(err)) throw err;
      }
    },

    /**
     * Holds `amount` credits for a job and counts it as active; idempotent per job. Refuses (JobSettledError) a job
     * that has already settled, so a reservation that arrives late — a slow retry the workflow gave up on — can
     * never hold credits nobody will release. `ref` names the hold: the job id, or a variant's ref (variantRef).
     */
    async reserve(userId: string, jobId: string, amount: number, ref: string = jobId): Promise<ReserveResult> {
      const held = await events.findOneBy({ ref, kind: 'reserve' });
      if (held) return { ok: true, amount: held.amount };
      try {
        return await inTransaction(ds, async (m): Promise<ReserveResult> => {
          // The user row lock orders this against settle() and other reservations; read the job's events after it.
          const user = await lockUser(m, userId);
          const prior = await m.findBy(BillingEvent, { ref });
          const reserved = prior.find((e) => e.kind === 'reserve');
          if (reserved) return { ok: true, amount: reserved.amount };
          if (prior.some((e) => e.kind === 'release')) throw new JobSettledError(ref);
          const max = planOf(user.plan).maxActiveJobs;
          const available = user.balance - user.reserved;
          if (available < amount) return { ok: false, code: 'INSUFFICIENT_CREDITS', needed: amount, available };
          if (user.activeJobs >= max) return { ok: false, code: 'TOO_MANY_ACTIVE_JOBS', limit: max, active: user.activeJobs };
          await m
            .createQueryBuilder()
            .update(User)
            .set({ reserved: () => 'reserved + :amount', activeJobs: () => 'active_jobs + 1' })
            .where('id = :userId')
            .setParameters({ amount, userId })
            .execute();
          await m.insert(BillingEvent, eventRow(user, ref, jobId, 'reserve', amount, user.balance, user.reserved + amount));
          return { ok: true, amount };
        });
      } catch (err) {
        if (isDuplicate(err)) return { ok: true, amount }; // a concurrent call for the same job won the race
        throw err;
      }
    },

    /**
     * Ends a job's hold: charges `charge` credits (at most what was reserved) and releases the rest, exactly once.
     * A job that never reserved settles to zero and leaves a zero release as a tombstone (see reserve()).
     */
    async settle(userId: string, jobId: string, charge: number, ref: string = jobId): Promise<Settlement> {
      try {
        return await inTransaction(ds, async (m): Promise<Settlement> => {
          // The lock comes first: on InnoDB the reads below then see every reservation committed before it.
          const user = await lockUser(m, userId).catch((err: unknown) => {
            if (err instanceof UnknownUserError) return null; // never reserved anything: nothing to settle or mark
            throw err;
          });
          if (!user) return { charged: 0, released: 0 };
          const done = await m.findBy(BillingEvent, { ref });
          const reserve = done.find((e) => e.kind === 'reserve');
          const release = done.find((e) => e.kind === 'release');
          if (release) return { charged: done.find((e) => e.kind === 'charge')?.amount ?? 0, released: release.amount };
          if (!reserve) {
            await m.insert(BillingEvent, eventRow(user, ref, jobId, 'release', 0, user.balance, user.reserved));
            return { charged: 0, released: 0 };
          }
          const charged = Math.max(0, Math.min(charge, reserve.amount));
          const released = reserve.amount - charged;
          await m
            .createQueryBuilder()
            .update(User)
            .set({ balance: () => 'balance - :charged', reserved: () => 'reserved - :held', activeJobs: () => 'active_jobs - 1' })
            .where('id = :userId')
            .setParameters({ charged, held: reserve.amount, userId })
            .execute();
          const balance = user.balance - charged;
          if (charged > 0) await m.insert(BillingEvent, eventRow(user, ref, jobId, 'charge', charged, balance, user.reserved - charged));
          // The release row is written even for 0 credits: it is the marker that the job is settled.
          await m.insert(BillingEvent, eventRow(user, ref, jobId, 'release', released, balance, user.reserved - reserve.amount));
          return { charged, released };
        });
      } catch (err) {
        if (!isDuplicate(err)) throw err;
        return this.settle(userId, jobId, charge, ref); // settled concurrently: report what was recorded
      }
    },

    /** The user's ledger, oldest first. */
    ledger(userId: string): Promise<BillingEvent[]> {
      return events.find({ where: { userId }, order: { id: 'ASC' } });
    },
  };
}

/** The ledger service's type. */
export type Credits = ReturnType<typeof createCredits>;
