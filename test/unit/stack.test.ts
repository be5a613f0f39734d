/** The local-stack plumbing: free ports, and child processes that never outlive their parent. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { getFreePort, getFreePorts } from '../../scripts/stack/ports';
import { startProcess, waitFor } from '../../scripts/stack/process';

/** Alive and not a zombie (an orphan's zombie may linger when pid 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const until = (what: string, check: () => boolean, timeoutMs = 10_000) => waitFor(what, async () => check(), { timeoutMs });

describe('stack: ports', () => {
  it('getFreePorts returns distinct ports that can be bound on 127.0.0.1', async () => {
    const ports = await getFreePorts(5);
    assert.equal(new Set(ports).size, 5);
    for (const port of [...ports, await getFreePort()]) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});

describe('stack: processes', function () {
  this.timeout(20_000);

  it('passes each output line to the logger, and stop() ends the whole process group', async () => {
    const lines: string[] = [];
    // The shell starts a grandchild and reports its pid; stop() must take it down too.
    const proc = startProcess({
      name: 'demo',
      command: 'sh',
      args: ['-c', 'sleep 300 & echo "grandchild $!"; echo "to stderr" >&2; wait'],
      log: (l) => lines.push(l),
    });
    await until('the grandchild pid', () => lines.some((l) => l.startsWith('grandchild ')));
    const grandchild = Number(lines.find((l) => l.startsWith('grandchild '))!.split(' ')[1]);
    assert.ok(isAlive(grandchild));
    assert.ok(lines.includes('to stderr'));

    const exit = await proc.stop(2000);
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(proc.stopping);
    await until('the grandchild to die', () => !isAlive(grandchild));
  });

  it('waitFor fails early with the output of a process that dies', async () => {
    const proc = startProcess({ name: 'dying', command: 'sh', args: ['-c', 'echo boom; exit 3'], log: () => {} });
    await assert.rejects(
      waitFor('never', async () => false, { proc, timeoutMs: 10_000 }),
      /dying exited \(code 3.*\n.*boom/s,
    );
  });

  it('children die when the parent is killed with SIGKILL', async () => {
    // A parent that starts a long-running child and prints its pid, then waits forever.
    const script = `
      const { startProcess } = require(${JSON.stringify(path.resolve(__dirname, '../../scripts/stack/process'))});
      const p = startProcess({ name: 'orphan', command: 'sleep', args: ['300'], log: () => {} });
      console.log(p.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    assert.ok(isAlive(childPid));
    parent.kill('SIGKILL');
    await until('the orphaned child to die', () => !isAlive(childPid));
  });
});
