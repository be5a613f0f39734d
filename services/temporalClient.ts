/**
 * A Temporal client connection whose close leaves no SDK retry behind: the SDK's default gRPC retries, a count of the
 * calls in flight (a call's retries count once) that `close()` waits for, and, once closed, an answer of CANCELLED to
 * any retry that still fires.
 *
 * Why: the SDK's retry interceptor re-issues a failed call from a timer. A retry that fires after `Connection.close()`
 * throws "Channel has been shut down" from that timer, an uncaught exception. It happened to the test stack when it
 * closed the API's connection soon after a Temporal outage, while calls the API had answered 503 for were still
 * retrying. Aborting a call does not stop its retries either (the SDK's interceptor ignores cancel): it retries until
 * its deadline or its tenth attempt.
 */
import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';

/** A client connection and the close that waits for its calls. */
export interface ClientConnection {
  connection: Connection;
  /** Calls started and not yet finished (a call's retries count as the one call). */
  inFlight(): number;
  /**
   * Waits up to `withinMs` (default 10 s) for the calls in flight to finish, then closes the connection; a retry of a
   * call still open then ends it CANCELLED (not retried) instead of reaching the closed channel.
   */
  close(withinMs?: number): Promise<void>;
}

/** A call answered CANCELLED as soon as it starts, without a channel. */
function cancelledCall(details: string): InterceptingCall {
  const noop = () => undefined;
  const bottom: ConstructorParameters<typeof InterceptingCall>[0] = {
    start(_metadata, listener) {
      process.nextTick(() => listener?.onReceiveStatus?.({ code: status.CANCELLED, details, metadata: new Metadata() }));
    },
    sendMessage: noop,
    sendMessageWithContext: noop,
    startRead: noop,
    halfClose: noop,
    cancelWithStatus: noop,
    getPeer: () => '',
    getAuthContext: () => null,
  };
  return new InterceptingCall(bottom);
}

/** Connects (or, with `lazy`, connects on first use: the API starts while Temporal is still coming up). */
export async function openClientConnection(options: ConnectionOptions, { lazy = false } = {}): Promise<ClientConnection> {
  let inFlight = 0;
  let closed = false;
  const idle = new Set<() => void>();
  // Outermost: it sees a call once, from its start to the status its retries end with.
  const counter: Interceptor = (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        inFlight++;
        let open = true;
        next(metadata, {
          onReceiveStatus(callStatus, nextStatus) {
            if (open) {
              open = false;
              if (--inFlight === 0) for (const wake of idle) wake();
            }
            nextStatus(callStatus);
          },
        });
      },
    });
  // Innermost: every attempt, a retry included, passes here before it would open a call on the channel.
  const guard: Interceptor = (callOptions, nextCall) =>
    closed ? cancelledCall('the Temporal connection is closed') : new InterceptingCall(nextCall(callOptions));
  const retry = options.interceptors ?? [makeGrpcRetryInterceptor(defaultGrpcRetryOptions())];
  const full = { ...options, interceptors: [counter, ...retry, guard] };
  const connection = lazy ? Connection.lazy(full) : await Connection.connect(full);
  return {
    connection,
    inFlight: () => inFlight,
    async close(withinMs = 10_000) {
      if (inFlight > 0) {
        let wake = () => undefined as void;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          idle.add(wake);
          timer = setTimeout(resolve, withinMs);
        });
        clearTimeout(timer);
        idle.delete(wake);
      }
      closed = true;
      await connection.close();
    },
  };
}
