/**
 * Presigned GET URLs signed directly with SigV4 (@smithy/signature-v4, the signer inside the AWS SDK), one long-lived
 * signer per storage. The SDK's `getSignedUrl` builds a presigner, clones the client's middleware stack, resolves the
 * endpoint rules and serializes a command for every URL — about a millisecond of CPU — and a JobView page holds up to
 * five URLs per item. Here a URL costs the canonical request, one SHA-256 and two HMACs (the day's signing key is
 * cached by the signer). The URLs are the ones `getSignedUrl` makes, byte for byte (test/unit/getPresigner.test.ts).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ServeAs, StorageConfig } from './storage';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 (HMAC-SHA256 with a secret) on node:crypto, in the shape the signer takes. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** RFC 3986 escaping as S3 and the SDK do it (encodeURIComponent leaves !'()* alone). */
const escape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A bucket the SDK's endpoint rules address as `bucket.host` when path style is off. */
const VIRTUAL_HOSTABLE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const IP_HOST = /^(\d{1,3}\.){3}\d{1,3}$|^\[.*\]$/;

/** Signs GET URLs of `cfg`'s bucket on `endpoint` (the public one when the app reaches storage elsewhere). */
export function createGetPresigner(cfg: StorageConfig, endpoint: string) {
  const base = new URL(endpoint);
  const bucket = cfg.STORAGE_BUCKET;
  const virtual = !cfg.STORAGE_FORCE_PATH_STYLE && VIRTUAL_HOSTABLE.test(bucket) && !IP_HOST.test(base.hostname);
  const hostname = virtual ? `${bucket}.${base.hostname}` : base.hostname;
  const host = base.port ? `${hostname}:${base.port}` : hostname;
  const prefix = `${base.pathname.replace(/\/+$/, '')}${virtual ? '' : `/${escape(bucket)}`}`;
  const origin = `${base.protocol}//${host}`;
  const signer = new SignatureV4({
    service: 's3',
    region: cfg.STORAGE_REGION,
    credentials: { accessKeyId: cfg.STORAGE_ACCESS_KEY, secretAccessKey: cfg.STORAGE_SECRET_KEY },
    sha256: Sha256,
    // S3 signs the path as sent (no second escaping) and never hashes a GET's payload.
    uriEscapePath: false,
    applyChecksum: false,
  });

  /** A URL that GETs `key` for `ttlSeconds` from now (`signingDate` only for tests). */
  return async function presignGet(key: string, ttlSeconds: number, serveAs: ServeAs = {}, signingDate?: Date): Promise<string> {
    const query: Record<string, string> = { 'x-id': 'GetObject' };
    if (serveAs.contentType) query['response-content-type'] = serveAs.contentType;
    if (serveAs.attachment) query['response-content-disposition'] = `attachment; filename="${key.split('/').pop()}"`;
    const path = `${prefix}/${key.split('/').map(escape).join('/')}`;
    const signed = await signer.presign(
      {
        method: 'GET',
        protocol: base.protocol,
        hostname,
        port: base.port ? Number(base.port) : undefined,
        path,
        query,
        headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: ttlSeconds, signingDate, unsignableHeaders: new Set(['content-type']) },
    );
    const q = signed.query as Record<string, string>;
    const search = Object.keys(q)
      .sort()
      .map((k) => `${escape(k)}=${escape(q[k])}`)
      .join('&');
    return `${origin}${path}?${search}`;
  };
}
