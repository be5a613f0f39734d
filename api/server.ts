/** API entry: parse config, open the database (migrations applied), connect Temporal and storage, listen. */
import 'dotenv/config';
import 'reflect-metadata';
import { Client } from '@temporalio/client';
import { createCredits } from '../services/credits';
import { createLogger } from '../services/logger';
import { createStorage } from '../services/storage';
import { openClientConnection } from '../services/temporalClient';
import { ConfigError, parseConfig } from '../domain/config';
import { openDatabase } from '../entities/dataSource';
import { createApp } from './app';
import { readinessChecks } from './readiness';

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const log = createLogger('api', { level: config.LOG_LEVEL, pretty: config.NODE_ENV === 'development' });
  const ds = await openDatabase(config.DATABASE_URL);
  const storage = createStorage(config);
  // Lazy: the API starts (and /readyz reports) even while Temporal is still coming up. Closing it waits for the calls
  // still retrying (services/temporalClient.ts).
  const temporalClient = await openClientConnection({ address: config.TEMPORAL_ADDRESS }, { lazy: true });
  const temporal = temporalClient.connection;
  const app = createApp({
    config,
    ds,
    credits: createCredits(ds),
    log,
    jobs: { storage, temporal: new Client({ connection: temporal, namespace: config.TEMPORAL_NAMESPACE }) },
    checks: readinessChecks({
      ds,
      connection: temporal,
      storage,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
    }),
  });
  const server = app.listen(config.PORT, () =>
    log.info({ port: config.PORT }, `API listening on http://127.0.0.1:${config.PORT} (docs at /docs)`),
  );
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close();
    // Requests in progress finish their Temporal calls (≤ 10 s), then their DB writes; then the DB goes.
    await temporalClient.close().catch(() => undefined);
    await ds.destroy().catch(() => undefined);
    storage.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
