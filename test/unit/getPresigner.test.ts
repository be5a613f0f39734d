import assert from 'node:assert/strict';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createGetPresigner } from '../../services/getPresigner';
import type { ServeAs, StorageConfig } from '../../services/storage';

const AT = new Date('2026-11-29T10:00:00.000Z');

function config(patch: Partial<StorageConfig> = {}): StorageConfig {
  return {
    STORAGE_S3_ENDPOINT: 'http://127.0.0.1:8333',
    STORAGE_ACCESS_KEY: 'AKIDEXAMPLE',
    STORAGE_SECRET_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    STORAGE_BUCKET: 's3-palette',
    STORAGE_REGION: 'us-east-1',
    STORAGE_FORCE_PATH_STYLE: true,
    ...patch,
  };
}

/** What the SDK's presigner makes for the same request (as storage.ts did before). */
async function sdkUrl(cfg: StorageConfig, key: string, ttl: number, serveAs: ServeAs = {}): Promise<string> {
  const client = new S3Client({
    endpoint: cfg.STORAGE_S3_ENDPOINT,
    region: cfg.STORAGE_REGION,
    forcePathStyle: cfg.STORAGE_FORCE_PATH_STYLE,
    credentials: { accessKeyId: cfg.STORAGE_ACCESS_KEY, secretAccessKey: cfg.STORAGE_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const command = new GetObjectCommand({
      Bucket: cfg.STORAGE_BUCKET,
      Key: key,
      ResponseContentType: serveAs.contentType,
      ResponseContentDisposition: serveAs.attachment ? `attachment; filename="${key.split('/').pop()}"` : undefined,
    });
    return await getSignedUrl(client, command, { expiresIn: ttl, signingDate: AT });
  } finally {
    client.destroy();
  }
}

describe('createGetPresigner', () => {
  const keys = [
    'outputs/0192f1a2-user/0192f1a3-job/7.png',
    'masks/u/j/3/wall.png',
    "odd/key with spaces/it's (1)*!~.jpg",
    'unicode/사진/ü.webp',
  ];
  const setups: [string, Partial<StorageConfig>][] = [
    ['path style, IP and port', {}],
    ['path style, https host without port', { STORAGE_S3_ENDPOINT: 'https://storage.example.com' }],
    [
      'virtual host',
      { STORAGE_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com', STORAGE_FORCE_PATH_STYLE: false, STORAGE_REGION: 'eu-west-1' },
    ],
    ['another region', { STORAGE_REGION: 'auto' }],
  ];
  for (const [name, patch] of setups) {
    it(`makes the SDK presigner's URL byte for byte: ${name}`, async () => {
      const cfg = config(patch);
      const presign = createGetPresigner(cfg, cfg.STORAGE_S3_ENDPOINT);
      for (const key of keys) {
        for (const serveAs of [undefined, { contentType: 'image/jpeg', attachment: true }, { contentType: 'image/png' }]) {
          for (const ttl of [900, 3600]) {
            assert.equal(
              await presign(key, ttl, serveAs, AT),
              await sdkUrl(cfg, key, ttl, serveAs),
              `${key} ${JSON.stringify(serveAs)} ${ttl}`,
            );
          }
        }
      }
    });
  }

  it('signs with the current time when no date is given', async () => {
    const before = Date.now();
    const url = new URL(await createGetPresigner(config(), 'http://127.0.0.1:8333')('a/b.png', 600));
    const amzDate = url.searchParams.get('X-Amz-Date')!;
    const t = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    assert.ok(t >= Math.floor(before / 1000) * 1000 && t <= Date.now(), amzDate);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '600');
  });
});
