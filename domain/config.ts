/** The process configuration: parsed once at boot from the environment into a typed object. */
import { z } from 'zod';

/** The JWT secret used when none is configured; refused when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'dev-only-insecure-jwt-secret-change-me';
/** The callback HMAC secret used when none is configured; refused when NODE_ENV=production. */
export const DEV_CALLBACK_SECRET = 'dev-only-insecure-callback-secret';

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 500ms, 30s, 15m, 24h or 7d');
const port = z.coerce.number().int().min(0).max(65535);

const Env = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: port.default(3000),
  JWT_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_JWT_SECRET),
  JWT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 24 * 3600),
  GPU_CALLBACK_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_CALLBACK_SECRET),
  DATABASE_URL: z
    .string()
    .regex(/^(mysql|mariadb|sqlite):/, 'expected mysql://user:pass@host:port/db or sqlite:path')
    .default('sqlite:.data/s3.sqlite'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('s3-jobs'),
  GPU_TASK_QUEUE: z.string().default('s3-gpu'),
  CPU_TASK_QUEUE: z.string().default('s3-cpu'),
  /** Deadline of every Temporal call the API makes: past it, reads use the DB mirror and writes answer 503. */
  TEMPORAL_CALL_TIMEOUT: duration.default('5s'),
  STORAGE_S3_ENDPOINT: z.url().default('http://127.0.0.1:8333'),
  STORAGE_PUBLIC_ENDPOINT: z.url().optional(),
  STORAGE_ACCESS_KEY: z.string().min(1).default('s3dev'),
  STORAGE_SECRET_KEY: z.string().min(1).default('s3dev-secret-key'),
  STORAGE_BUCKET: z.string().min(3).default('s3-palette'),
  STORAGE_REGION: z.string().default('us-east-1'),
  STORAGE_FORCE_PATH_STYLE: z.stringbool().default(true),
  PRESIGN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  MODEL_DIR: z.string().default('.data/model-fixture'),
  ORT_EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  SEGMENT_SCORE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Most images per model batch on a GPU worker (a batch-capable export only; samexporter's runs one at a time). */
  GPU_MAX_BATCH: z.coerce.number().int().min(1).max(64).default(8),
  /** How long the first image waiting for a GPU batch waits for batchmates, in ms. */
  GPU_BATCH_WAIT_MS: z.coerce.number().min(0).max(1000).default(5),
  /** Concurrent rule applications per CPU worker; 0 = one per core the process may use. */
  CPU_CONCURRENCY: z.coerce.number().int().min(0).max(256).default(0),
  /**
   * How PNG results are compressed, the largest single CPU cost of an item: `fast` (the png crate's fast deflate with
   * adaptive row filters; results over 24 MP fall back to level 3) or a libvips zlib level 1–9, unfiltered. On photos
   * `fast` takes a third to a half of level 3's CPU for files about as small or smaller (bench/README, item cost).
   */
  RESULT_PNG_LEVEL: z
    .union([z.literal('fast'), z.coerce.number().int().min(1).max(9)], { error: 'expected fast or a zlib level 1–9' })
    .default('fast'),
  UPLOAD_TIMEOUT: duration.default('24h'),
  JOB_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(256).default(64),
  /** Open `GET /jobs/{id}/events` streams a user may hold at once (more answer 429 RATE_LIMITED). */
  SSE_MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  /** Memory for serialized JobView pages of terminal jobs, reused while unchanged (MiB; 0 = rebuild every page). */
  JOB_VIEW_CACHE_MB: z.coerce.number().int().min(0).max(4096).default(64),
  ANON_RATE_LIMIT: z.coerce.number().int().positive().default(20),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  ANON_RATE_WINDOW: duration.default('1h'),
  METRICS_PORT: port.default(0),
  /** Who runs `segment`: GPU workers polling GPU_TASK_QUEUE (`fleet`), or Runpod Serverless behind a dispatcher. */
  GPU_PROVIDER: z.enum(['fleet', 'runpod']).default('fleet'),
  RUNPOD_ENDPOINT_ID: z.string().optional(),
  RUNPOD_API_KEY: z.string().optional(),
  RUNPOD_API_BASE: z.url().default('https://api.runpod.ai/v2'),
  /** The API's base URL as Runpod reaches it (webhooks); unset = completion by /status polling only. */
  RUNPOD_WEBHOOK_URL: z.url().optional(),
  /** /status poll and heartbeat period of an item on Runpod; below the items' 20 s heartbeat timeout. */
  RUNPOD_POLL_INTERVAL: duration.default('5s'),
  RUNPOD_EXECUTION_TIMEOUT: duration.default('5m'),
});

/** Every configuration variable name (`.env.example` and the deploy manifests list these). */
export const CONFIG_KEYS = Object.keys(Env.shape) as (keyof typeof Env.shape)[];

/** The validated configuration. */
export type Config = z.output<typeof Env>;

/** Thrown when the environment is invalid; its message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" (a blank line in .env), not an invalid value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = Env.safeParse(cleaned);
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  if (result.success && result.data.NODE_ENV === 'production') {
    const placeholder = (v: string, dev: string) => v === dev || /change-?me/i.test(v);
    if (placeholder(result.data.JWT_SECRET, DEV_JWT_SECRET))
      problems.push('JWT_SECRET: must be set to a real secret when NODE_ENV=production');
    if (placeholder(result.data.GPU_CALLBACK_SECRET, DEV_CALLBACK_SECRET)) {
      problems.push('GPU_CALLBACK_SECRET: must be set to a real secret when NODE_ENV=production');
    }
  }
  if (result.success && result.data.GPU_PROVIDER === 'runpod') {
    for (const key of ['RUNPOD_ENDPOINT_ID', 'RUNPOD_API_KEY'] as const)
      if (!result.data[key]) problems.push(`${key}: required when GPU_PROVIDER=runpod`);
  }
  // An item waiting on Runpod is heartbeated once per poll: slower than half the 20 s heartbeat timeout risks retries.
  if (result.success && durationMs(result.data.RUNPOD_POLL_INTERVAL) > 10_000) problems.push('RUNPOD_POLL_INTERVAL: at most 10s');
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** Converts a duration string of the config (`24h`, `500ms`) to milliseconds. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
