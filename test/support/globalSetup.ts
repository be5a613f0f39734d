/**
 * Mocha global fixtures: one Temporal dev server (fresh SQLite file) and one SeaweedFS S3 (fresh dir) on free ports
 * for the whole run, so integration and end-to-end tests talk to real services; they are stopped at the end.
 * The addresses are exported to process.env before any test file runs its hooks.
 * TEST_SERVICES=none (or a MOCHA_SPEC that only names test/unit/) skips them for fast unit-only runs.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { S3Server } from '../../scripts/stack/s3';
import type { TemporalServer } from '../../scripts/stack/temporal';
import { ensureTools, TEMPORAL_BIN } from '../../scripts/stack/tools';
import { reportCrash, startTestS3, startTestTemporal, TEST_S3 } from './services';

// Temporal workers log every state change at INFO and every expected activity failure (a corrupt upload) at WARN;
// tests show errors only (TEMPORAL_LOG_LEVEL=WARN or INFO to see more).
Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as LogLevel | undefined) ?? 'ERROR') });

// The AWS SDK warns on every process that Node 20 support ends in 2027; the project targets Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let running: Array<TemporalServer | S3Server> = [];

function servicesWanted(): boolean {
  if (process.env.TEST_SERVICES === 'none') return false;
  const specs = process.env.MOCHA_SPEC?.split(',').filter(Boolean) ?? [];
  return !(specs.length > 0 && specs.every((s) => s.replace(/^\.\//, '').startsWith('test/unit/')));
}

export async function mochaGlobalSetup(): Promise<void> {
  if (!servicesWanted()) return;
  const started = Date.now();
  ensureTools(); // runs scripts/tools.sh --quiet only when a binary is missing
  const results = await Promise.allSettled([startTestTemporal(), startTestS3()]);
  running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await mochaGlobalTeardown();
    throw failed.reason;
  }
  const [temporal, s3] = running as [TemporalServer, S3Server];
  reportCrash('temporal', temporal);
  reportCrash('s3', s3);
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_CLI_PATH: TEMPORAL_BIN,
    STORAGE_S3_ENDPOINT: s3.endpoint,
    STORAGE_ACCESS_KEY: TEST_S3.accessKey,
    STORAGE_SECRET_KEY: TEST_S3.secretKey,
    STORAGE_BUCKET: TEST_S3.bucket,
    STORAGE_REGION: TEST_S3.region,
    STORAGE_FORCE_PATH_STYLE: 'true',
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `[services] Temporal ${temporal.address} (namespace ${temporal.namespace}), S3 ${s3.endpoint} ` +
      `(bucket ${TEST_S3.bucket}), up in ${secs}s`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  const stopping = running;
  running = [];
  await Promise.all(stopping.map((s) => s.stop()));
}
