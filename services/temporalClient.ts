/**
 * A Temporal client connection that closes cleanly: the SDK's default gRPC retries, plus a count of the calls in
 * flight (retries included) so `close()` waits for them before it closes the channel.
 *
 * Why: the SDK's retry interceptor re-issues a failed call from a timer. A retry that fires after `Connection.close()`
 * throws "Channel has been shut down" from that timer, an uncaught exception. It happened to the API when it was
 * closed soon after a Temporal outage, while calls it had already answered 503 for were still retrying.
 */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';

/** A client connection and the close that waits for its calls. */
export interface ClientConnection {
  connection: Connection;
  /** Calls started and not yet finished (a call's retries count as the one call). */
  inFlight(): number;
  /** Waits up to `withinMs` (default 10 s) for the calls in flight to finish, then closes the connection. */
  close(withinMs?: number): Promise<void>;
}

/** Connects (or, with `lazy`, connects on first use: the API starts while Temporal is still coming up). */
export async function openClientConnection(options: ConnectionOptions, { lazy = false } = {}): Promise<ClientConnection> {
  let inFlight = 0;
  let idle: (() => void)[] = [];
  // Outermost, so it sees a call once, from its start to the status its retries end with.
  const counter: Interceptor = (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        inFlight++;
        let open = true;
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            if (open) {
              open = false;
              if (--inFlight === 0) for (const wake of idle.splice(0)) wake();
            }
            nextStatus(status);
          },
        });
      },
    });
  const full = { ...options, interceptors: [counter, ...(options.interceptors ?? [makeGrpcRetryInterceptor(defaultGrpcRetryOptions())])] };
  const connection = lazy ? Connection.lazy(full) : await Connection.connect(full);
  return {
    connection,
    inFlight: () => inFlight,
    async close(withinMs = 10_000) {
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle.push(resolve);
          timer = setTimeout(resolve, withinMs);
        });
        clearTimeout(timer);
        idle = [];
      }
      await connection.close();
    },
  };
}
