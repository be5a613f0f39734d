/**
 * Shared polling for the SSE streams: one poll loop per followed job, however many streams follow it, and at most
 * `maxPerUser` open streams per user. Each poll reads the DB mirror and (for a live job) queries the workflow, so
 * a thousand streams of one user on one job must not mean a thousand polls a second.
 */
import type { JobState } from '../domain/jobData';
import type { JobLog } from '../entities/JobLog';
import { ApiError } from './errors';
import type { JobReader } from './jobReader';

/** What a follower of a job receives after each poll: its state and mirror row, or the error that ended the poll. */
export type JobUpdate = { state: JobState; job: JobLog; variants: VariantSummary[] } | { error: unknown };

/** A variant's line in the stream (compare): its progress streams with the job's. */
export interface VariantSummary {
  n: number;
  status: string;
  progress: unknown;
}

type Listener = (update: JobUpdate) => void;

/** The hub of one API process. */
export function createSseHub(deps: {
  reader: JobReader;
  /** The job's variants; the poll goes on while one of them runs. */
  variants: (jobId: string) => Promise<VariantSummary[]>;
  /** Whether the stream is over (the job and its variants terminal). */
  finished: (update: { state: JobState; variants: VariantSummary[] }) => boolean;
  maxPerUser: number;
  pollMs?: number;
}) {
  const pollMs = deps.pollMs ?? 1000;
  const streams = new Map<string, number>();
  const polls = new Map<string, Set<Listener>>();

  async function poll(first: JobLog, listeners: Set<Listener>): Promise<void> {
    let job = first;
    try {
      while (listeners.size > 0) {
        job = await deps.reader.reload(job);
        const state = await deps.reader.state(job);
        const variants = await deps.variants(job.id);
        for (const l of [...listeners]) l({ state, job, variants });
        if (deps.finished({ state, variants })) break;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    } catch (err) {
      for (const l of [...listeners]) l({ error: err });
    } finally {
      polls.delete(first.id); // synchronously after the last delivery: a later follower starts a fresh poll
    }
  }

  return {
    /** Takes one of the user's stream slots (429 RATE_LIMITED when all are open); the result gives it back. */
    admit(userId: string): () => void {
      const open = streams.get(userId) ?? 0;
      if (open >= deps.maxPerUser) {
        throw new ApiError(
          'RATE_LIMITED',
          `at most ${deps.maxPerUser} open event streams per user`,
          { limit: deps.maxPerUser },
          { 'Retry-After': '5' },
        );
      }
      streams.set(userId, open + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (streams.get(userId) ?? 1) - 1;
        if (left > 0) streams.set(userId, left);
        else streams.delete(userId);
      };
    },
    /** Follows `job`: `listener` gets every poll's update until the job is terminal; the result stops following. */
    follow(job: JobLog, listener: Listener): () => void {
      let listeners = polls.get(job.id);
      if (!listeners) {
        listeners = new Set();
        polls.set(job.id, listeners);
        listeners.add(listener);
        void poll(job, listeners);
      } else listeners.add(listener);
      const mine = listeners;
      return () => void mine.delete(listener);
    },
    /** Jobs polled right now (metrics). */
    polledJobs: () => polls.size,
    /** Streams open right now (metrics). */
    openStreams: () => [...streams.values()].reduce((a, n) => a + n, 0),
  };
}

/** The SSE hub's type. */
export type SseHub = ReturnType<typeof createSseHub>;
