/** Structured logs (pino): JSON in production, pretty in development; every process names itself. */
import pino, { type Logger } from 'pino';

/** Creates the root logger of a process (`api`, `worker`, `gpu-worker`, …). */
export function createLogger(name: string, opts: { level: string; pretty: boolean }): Logger {
  return pino({
    name,
    level: opts.level,
    base: { service: name },
    ...(opts.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname,service', messageKey: 'msg' } } }
      : {}),
  });
}
