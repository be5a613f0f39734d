/**
 * CPU accounting from /proc (Linux): CPU seconds of given processes, of this process's threads grouped by name, and
 * of the whole machine, between two snapshots — the `ps`/`top` view of a run, taken exactly over its window.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** utime + stime of /proc/<pid>[/task/<tid>]/stat in seconds, and the thread/process name; null when gone. */
function readStat(path: string): { name: string; cpu: number } | null {
  try {
    const s = readFileSync(path, 'utf8');
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    const fields = s.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return { name: s.slice(open + 1, close), cpu: (Number(fields[11]) + Number(fields[12])) * TICK_S };
  } catch {
    return null;
  }
}

/** Busy and total CPU seconds of the machine (all cores) from /proc/stat. */
function machine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * TICK_S, total: total * TICK_S };
}

/** Process ids whose name is one of `names` (e.g. the MariaDB server), read from /proc. */
export function pidsByName(names: string[]): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(`/proc/${entry}/stat`);
    if (st && names.includes(st.name)) out.push(Number(entry));
  }
  return out;
}

/** Cumulative CPU seconds at one instant: per process group, per thread group of this process, and the machine. */
export interface CpuSnapshot {
  /** Epoch ms. */
  at: number;
  procs: Map<string, number>;
  threads: Map<string, number>;
  machine: { busy: number; total: number };
}

/** Named groups of processes to account (a group's pids are summed). */
export type ProcessGroups = Record<string, number[]>;

/** Reads the CPU seconds used so far by `groups`, by this process's threads and by the machine. */
export function snapshot(groups: ProcessGroups): CpuSnapshot {
  const procs = new Map<string, number>();
  for (const [name, pids] of Object.entries(groups)) {
    procs.set(
      name,
      pids.reduce((sum, pid) => sum + (readStat(`/proc/${pid}/stat`)?.cpu ?? 0), 0),
    );
  }
  const threads = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const st = readStat(`/proc/self/task/${tid}/stat`);
    if (!st) continue;
    const name = tid === String(process.pid) ? 'main (JS event loop)' : st.name.replace(/[-_ ]?\d+$/, '');
    threads.set(name, (threads.get(name) ?? 0) + st.cpu);
  }
  return { at: performance.timeOrigin + performance.now(), procs, threads, machine: machine() };
}

/** CPU use between two snapshots, as % of one core. */
export interface CpuReport {
  wallS: number;
  /** Group -> % of one core over the window. */
  procs: Record<string, number>;
  /** Thread group of this process -> % of one core. */
  threads: Record<string, number>;
  /** Whole machine busy, % of one core (max cores × 100). */
  machine: number;
  /** Machine busy minus the accounted groups: other work on the box during the window. */
  others: number;
  cores: number;
}

/** The CPU use from snapshot `a` to snapshot `b` (whatever was not accounted for is `others`). */
export function diff(a: CpuSnapshot, b: CpuSnapshot): CpuReport {
  const wallS = (b.at - a.at) / 1000;
  const pct = (s: number) => (100 * s) / wallS;
  const procs: Record<string, number> = {};
  let accounted = 0;
  for (const [k, v] of b.procs) {
    const d = Math.max(0, v - (a.procs.get(k) ?? 0));
    procs[k] = pct(d);
    accounted += d;
  }
  const threads: Record<string, number> = {};
  for (const [k, v] of b.threads) threads[k] = pct(Math.max(0, v - (a.threads.get(k) ?? 0)));
  const busy = b.machine.busy - a.machine.busy;
  return { wallS, procs, threads, machine: pct(busy), others: Math.max(0, pct(busy - accounted)), cores: cpus().length };
}

/** Machine busy over the next `ms` milliseconds, % of one core. */
export async function machineBusyPct(ms: number): Promise<number> {
  const a = machine();
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = machine();
  return (100 * (b.busy - a.busy)) / ((performance.now() - t) / 1000);
}

/**
 * Waits up to `maxS` seconds for a second in which the machine is less than `belowPct` % busy (% of one core), and
 * returns how busy that last second was: on a shared machine, a scenario should not start in someone else's build.
 */
export async function waitForQuiet(maxS: number, belowPct = 25): Promise<number> {
  const until = Date.now() + maxS * 1000;
  let busy = await machineBusyPct(1000);
  while (busy >= belowPct && Date.now() < until) busy = await machineBusyPct(1000);
  return busy;
}
