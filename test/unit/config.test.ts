import assert from 'node:assert/strict';
import { ConfigError, DEV_JWT_SECRET, durationMs, parseConfig } from '../../domain/config';

describe('config', () => {
  it('fills development defaults from an empty environment', () => {
    const c = parseConfig({});
    assert.equal(c.PORT, 3000);
    assert.equal(c.BATCH_CONCURRENCY, 4);
    assert.equal(c.RESULT_PNG_LEVEL, 'fast');
    assert.equal(parseConfig({ RESULT_PNG_LEVEL: '6' }).RESULT_PNG_LEVEL, 6);
    assert.throws(() => parseConfig({ RESULT_PNG_LEVEL: 'best' }), /RESULT_PNG_LEVEL.*expected fast or a zlib level 1–9/);
    assert.equal(c.UPLOAD_TIMEOUT, '24h');
    assert.equal(c.DATABASE_URL, 'sqlite:.data/s3.sqlite');
    assert.equal(c.JWT_SECRET, DEV_JWT_SECRET);
  });

  it('requires the Runpod endpoint and key with GPU_PROVIDER=runpod, and a poll below the heartbeat timeout', () => {
    assert.equal(parseConfig({}).GPU_PROVIDER, 'fleet');
    assert.throws(
      () => parseConfig({ GPU_PROVIDER: 'runpod', RUNPOD_POLL_INTERVAL: '30s' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.split(':')[0]),
          ['RUNPOD_ENDPOINT_ID', 'RUNPOD_API_KEY', 'RUNPOD_POLL_INTERVAL'],
        );
        return true;
      },
    );
    const c = parseConfig({ GPU_PROVIDER: 'runpod', RUNPOD_ENDPOINT_ID: 'abc123', RUNPOD_API_KEY: 'key' });
    assert.equal(c.RUNPOD_API_BASE, 'https://api.runpod.ai/v2');
    assert.equal(durationMs(c.RUNPOD_POLL_INTERVAL), 5000);
  });

  it('treats empty strings as unset', () => {
    assert.equal(parseConfig({ PORT: '' }).PORT, 3000);
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () =>
        parseConfig({
          PORT: 'eighty',
          BATCH_CONCURRENCY: '0',
          UPLOAD_TIMEOUT: 'tomorrow',
          DATABASE_URL: 'postgres://x',
          RESULT_PNG_LEVEL: '0',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const v of ['PORT', 'BATCH_CONCURRENCY', 'UPLOAD_TIMEOUT', 'DATABASE_URL', 'RESULT_PNG_LEVEL'])
          assert.match(err.message, new RegExp(v));
        assert.equal(err.problems.length, 5);
        return true;
      },
    );
  });

  it('refuses the development secrets when NODE_ENV=production', () => {
    assert.throws(() => parseConfig({ NODE_ENV: 'production' }), /JWT_SECRET: must be set[\s\S]*GPU_CALLBACK_SECRET: must be set/);
    assert.throws(
      () =>
        parseConfig({
          NODE_ENV: 'production',
          JWT_SECRET: 'CHANGE-ME-to-a-long-random-secret',
          GPU_CALLBACK_SECRET: 'another-real-secret-0123',
        }),
      /JWT_SECRET/,
      "the deploy templates' placeholders are refused",
    );
    const ok = parseConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-secret-of-32-characters!!',
      GPU_CALLBACK_SECRET: 'another-real-secret-0123',
    });
    assert.equal(ok.NODE_ENV, 'production');
  });

  it('converts durations', () => {
    assert.equal(durationMs('500ms'), 500);
    assert.equal(durationMs('24h'), 86_400_000);
    assert.throws(() => durationMs('1y'));
  });
});

describe('.env.example', () => {
  it('lists every configuration variable and nothing else', async () => {
    const { readFileSync } = await import('node:fs');
    const { CONFIG_KEYS } = await import('../../domain/config');
    const listed = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => l.split('=')[0]);
    assert.deepEqual([...listed].sort(), [...CONFIG_KEYS].sort());
  });
});
