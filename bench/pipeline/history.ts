/**
 * What bench:pipeline reads from a job's workflow history: event times on the server's clock, when the workflow
 * accepted `execute`, how many workflow tasks it took, and a compact timeline for --dump.
 */
import type { WorkflowHandle } from '@temporalio/client';

/** One event of a workflow history, as WorkflowHandle.fetchHistory returns it. */
export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** An event's time in epoch ms (NaN when it has none). */
export function eventMs(e: Pick<HistoryEvent, 'eventTime'>): number {
  return e.eventTime ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : NaN;
}

/**
 * When the workflow accepted the `execute` update (epoch ms), or undefined. Items are scheduled in that same workflow
 * task, before the HTTP 202 reaches the client, so this — not the 202's arrival — is when a job's clock starts.
 */
export function executeAcceptedMs(events: HistoryEvent[]): number | undefined {
  const accepted = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'execute');
  return accepted ? eventMs(accepted) : undefined;
}

/** How many workflow tasks completed in these events. */
export function workflowTaskCount(events: HistoryEvent[]): number {
  return events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
}

/** The history as [event kind, epoch ms], e.g. ['activityTaskScheduled', 1764…], for timeline analysis. */
export function eventTimeline(events: HistoryEvent[]): [string, number][] {
  return events.map((e) => [
    Object.keys(e)
      .find((k) => k.endsWith('EventAttributes') && (e as any)[k])
      ?.replace(/EventAttributes$/, '') ?? '?',
    eventMs(e),
  ]);
}
