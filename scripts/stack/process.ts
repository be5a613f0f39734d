/**
 * Child processes for the local stack: line-prefixed logs, the whole process group stopped on stop(), and no orphans
 * when the parent dies, even by SIGKILL.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  /** Short name used as the log prefix, e.g. `temporal`. */
  name: string;
  command: string;
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Receives each output line (default: printed as `[name] line`). */
  log?: (line: string) => void;
  /** Which lines reach `log` (all are kept for recentOutput()). */
  filter?: (line: string) => boolean;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** True once stop() was called: an exit after that is expected. */
  readonly stopping: boolean;
  /** Set once the process has exited. */
  readonly exitInfo: ExitInfo | null;
  /** SIGTERM to the process group, SIGKILL after graceMs. Safe to call more than once. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** The last lines of output, for error messages when a start fails. */
  recentOutput(): string[];
}

/** Prints lines as `[name] line` on stdout. */
export function prefixedLogger(name: string): (line: string) => void {
  return (line) => process.stdout.write(`[${name}] ${line}\n`);
}

// The child runs under this sh wrapper, as leader of its own process group (detached). A background watchdog in the
// same group blocks on fd 3, a pipe whose other end only the parent holds: when the parent dies for any reason the
// read returns, and the watchdog terminates the group (then kills it after 5 s). `exec` keeps the child's pid.
const WRAPPER = [
  '( trap "" TERM INT; read _ <&3; kill -TERM 0',
  '  i=0; while kill -0 $$ 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL 0 ) &',
  'exec 3<&- "$@"',
].join('\n');

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Starts a child process in its own process group. */
export function startProcess(opts: StartProcessOptions): ManagedProcess {
  const log = opts.log ?? prefixedLogger(opts.name);
  const child = spawn('/bin/sh', ['-c', WRAPPER, opts.name, opts.command, ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true, // own process group: Ctrl-C in the terminal reaches only us, and we stop children in order
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err)); // an unhandled 'error' event would crash the parent
  if (child.pid === undefined) throw new Error(`could not spawn /bin/sh for ${opts.command}`);
  const pid = child.pid;
  const recent: string[] = [];
  let stopping = false;
  let exitInfo: ExitInfo | null = null;
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 100) recent.shift();
    // Shutdown chatter (connection refused, graceful_stop...) after stop() is noise: keep it out of the log.
    if (!stopping && (!opts.filter || opts.filter(line))) log(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream as Readable, crlfDelay: Infinity }).on('line', onLine);
  }
  const lifeline = child.stdio[3] as Readable;

  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(proc);
      // Whatever is left of the group (the watchdog, grandchildren) goes with the main process.
      killGroup(pid, 'SIGKILL');
      lifeline.destroy();
      exitInfo = { code, signal };
      if (spawnError) recent.push(`spawn error: ${spawnError.message}`);
      resolve(exitInfo);
    });
  });

  const proc: ManagedProcess = {
    name: opts.name,
    pid,
    exited,
    get stopping() {
      return stopping;
    },
    get exitInfo() {
      return exitInfo;
    },
    async stop(graceMs = 10_000) {
      if (!stopping) {
        stopping = true;
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        void exited.then(() => clearTimeout(timer));
      }
      return exited;
    },
    recentOutput: () => [...recent],
  };
  live.add(proc);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // process.exit() skips async cleanup: ask every live group to terminate; the watchdogs finish the job.
    process.once('exit', () => live.forEach((p) => killGroup(p.pid, 'SIGTERM')));
  }
  return proc;
}

/** The error for a process that died while we waited for it. */
export function diedError(proc: ManagedProcess, what: string): Error {
  const e = proc.exitInfo!;
  const tail = proc.recentOutput().slice(-30).join('\n');
  return new Error(`${proc.name} exited (code ${e.code}, signal ${e.signal}) while ${what}; last output:\n${tail}`);
}

/** Polls `check` until it returns true; fails early with the output when `proc` dies, or after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; proc?: ManagedProcess; retryable?: (err: unknown) => boolean } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (opts.proc?.exitInfo) throw diedError(opts.proc, `waiting for ${what}`);
    try {
      if (await check()) return;
    } catch (err) {
      if (opts.retryable && !opts.retryable(err)) throw err;
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}
