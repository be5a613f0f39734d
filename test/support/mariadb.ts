/**
 * A private MariaDB server on a free port with a throw-away data directory, for tests that stop the database under
 * the API (the shared one on 3306 must stay up for everyone else).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { startProcess, type ManagedProcess } from '../../scripts/stack/process';
import { getFreePort, makeTempDir } from './services';

/** A running private MariaDB: its URL (database `test`), and stop() which also removes its data. */
export interface PrivateMariaDb {
  url: string;
  process: ManagedProcess;
  /** Stops the server (SIGTERM) but keeps its data: for outage tests. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Initialises a data directory with mariadb-install-db and starts mariadbd on a free port. */
export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const dir = makeTempDir('mariadb');
  const port = await getFreePort();
  execFileSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    {
      stdio: 'ignore',
    },
  );
  // --user=root: mariadbd refuses to run as root without it (CI containers run as root).
  const proc = startProcess({
    name: 'mariadb',
    command: 'mariadbd',
    args: [
      '--no-defaults',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      `--datadir=${dir}/data`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'mariadb.sock')}`,
      `--pid-file=${path.join(dir, 'mariadb.pid')}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
    ],
    log: () => undefined,
  });
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await createConnection({ host: '127.0.0.1', port, user: 'root' });
      await c.query('CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4');
      await c.end();
      break;
    } catch (err) {
      if (proc.exitInfo) throw new Error(`mariadbd exited: ${proc.recentOutput().slice(-10).join('\n')}`);
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    url: `mysql://root@127.0.0.1:${port}/test`,
    process: proc,
    kill: async () => void (await proc.stop(10_000)),
    stop: async () => {
      await proc.stop(10_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
