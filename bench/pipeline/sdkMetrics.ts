/**
 * The Temporal SDK core's own metrics (Prometheus text format), for the profile part of bench:pipeline: how long the
 * worker spent in workflow activations, and how long each gRPC call to the server took as seen by the worker.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { getFreePort } from '../../scripts/stack/ports';

/** A flat sample map: `name{labels}` -> value (histogram `_sum`/`_count` and counters). */
export type Samples = Map<string, number>;

/** A free loopback address for the Prometheus exporter of a process's Runtime. */
export async function metricsAddress(): Promise<string> {
  return `127.0.0.1:${await getFreePort()}`;
}

/** Parses a Prometheus text exposition into samples (buckets dropped; labels reduced to the ones we tell apart). */
export function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1].endsWith('_bucket')) continue;
    // Only the labels that tell series apart for us.
    const labels = [...(m[2] ?? '').matchAll(/(operation|service_name|task_queue|activity_type|workflow_type|poller_type)="([^"]*)"/g)]
      .map((x) => `${x[1]}=${x[2]}`)
      .join(',');
    const key = `${m[1]}{${labels}}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

/** Fetches and parses `http://<address>/metrics`. */
export async function scrape(address: string): Promise<Samples> {
  const res = await fetch(`http://${address}/metrics`);
  return parse(await res.text());
}

/** `b - a` per sample: what happened between two scrapes of cumulative counters. */
export function delta(a: Samples, b: Samples): Samples {
  const out: Samples = new Map();
  for (const [k, v] of b) out.set(k, v - (a.get(k) ?? 0));
  return out;
}

/** Sums samples of several processes. */
export function merge(xs: Samples[]): Samples {
  const out: Samples = new Map();
  for (const x of xs) for (const [k, v] of x) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

/** Average and count of a histogram (ms) over the series whose labels contain every `match` entry. */
export function histogram(s: Samples, name: string, match: string[] = []): { count: number; avgMs: number } {
  let sum = 0;
  let count = 0;
  for (const [k, v] of s) {
    const open = k.indexOf('{');
    const base = k.slice(0, open);
    const labels = k.slice(open + 1, -1);
    if (!match.every((m) => labels.split(',').includes(m))) continue;
    if (base === `${name}_sum`) sum += v;
    else if (base === `${name}_count`) count += v;
  }
  return { count, avgMs: count ? sum / count : NaN };
}

/** Per gRPC operation: calls and mean latency, most time first. */
export function requestLatencies(s: Samples, name = 'temporal_request_latency'): { operation: string; count: number; avgMs: number }[] {
  const ops = new Set<string>();
  for (const k of s.keys()) {
    const m = new RegExp(`^${name}_count\\{.*operation=([^,}]+)`).exec(k);
    if (m) ops.add(m[1]);
  }
  return [...ops]
    .map((operation) => ({ operation, ...histogram(s, name, [`operation=${operation}`]) }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count * b.avgMs - a.count * a.avgMs);
}

/** TCP ports `pid` listens on (from /proc/net/tcp and its socket fds). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':').pop()!, 16));
    }
  }
  return ports;
}

/** The Temporal dev server's own Prometheus endpoint (the CLI binds it to a free port), or null. */
export async function findServerMetrics(pid: number): Promise<string | null> {
  for (const port of listeningPorts(pid)) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).includes('persistence_latency')) return `127.0.0.1:${port}`;
    } catch {
      // not an HTTP port
    }
  }
  return null;
}
