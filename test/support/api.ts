/** Starts the real Koa app on an ephemeral port against a test database, for API tests over real HTTP. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createCredits } from '../../services/credits';
import { parseConfig, type Config } from '../../domain/config';
import { createApp, type AppDeps } from '../../api/app';
import type { TestDatabase } from './databases';

/** The JWT secret API tests sign with. */
export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';

/** A response as tests look at it: status, headers and the parsed envelope. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed envelope (`{ success, data: T, error, meta }`), or the raw document for non-enveloped routes. */
  body: any;
}

/** A running API: its base URL and a small client. */
export interface TestApi {
  url: string;
  config: Config;
  request(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  /** Signs up an anonymous user and returns its token and id. */
  signUp(): Promise<{ token: string; userId: string }>;
  close(): Promise<void>;
}

/** The test client of an API at `url` (for an app started elsewhere, e.g. by startSystem). */
export function apiClient(url: string, config: Config, close: () => Promise<void> = async () => undefined): TestApi {
  const api: TestApi = {
    url,
    config,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async signUp() {
      const res = await api.request('POST', '/auth/anon');
      if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { token: res.body.data.token, userId: res.body.data.user.id };
    },
    close,
  };
  return api;
}

/** Starts the app for one suite; `env` overrides config, `deps` overrides wiring (e.g. readiness checks). */
export async function startApi(db: TestDatabase, env: Record<string, string> = {}, deps: Partial<AppDeps> = {}): Promise<TestApi> {
  const config = parseConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, ANON_RATE_LIMIT: '1000', ...env });
  const app = createApp({
    config,
    ds: db.ds,
    credits: createCredits(db.ds),
    log: pino({ level: 'silent' }),
    checks: { database: () => db.ds.query('SELECT 1') },
    ...deps,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return apiClient(url, config, () => new Promise((resolve) => server.close(() => resolve())));
}
