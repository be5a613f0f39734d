/**
 * The object store behind the storage layout: any S3 API (SeaweedFS locally, R2/S3/MinIO in production).
 * One small module so the API, the workers and the tests share one way to talk to it.
 */
import {
  DeleteObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Transform, type Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createGetPresigner } from './getPresigner';

/** What the storage module needs from the config. */
export interface StorageConfig {
  STORAGE_S3_ENDPOINT: string;
  /** Host the mobile app reaches presigned URLs on, when it differs from the internal endpoint. */
  STORAGE_PUBLIC_ENDPOINT?: string;
  STORAGE_ACCESS_KEY: string;
  STORAGE_SECRET_KEY: string;
  STORAGE_BUCKET: string;
  STORAGE_REGION: string;
  STORAGE_FORCE_PATH_STYLE: boolean;
}

/** Size and type of a stored object, or null when it does not exist. */
export interface ObjectHead {
  size: number;
  contentType?: string;
}

/** How a presigned GET serves the object: the headers the store answers with override what is stored. */
export interface ServeAs {
  /** Content-Type of the answer (an upload's declared image type, whatever the uploader sent). */
  contentType?: string;
  /** `Content-Disposition: attachment`: a browser saves the object instead of rendering it on the store's origin. */
  attachment?: boolean;
}

/** The operations the rest of the system uses. */
export interface Storage {
  readonly bucket: string;
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The object's bytes; with `maxBytes`, refuses (ObjectTooLargeError) a larger object before downloading it. */
  get(key: string, opts?: { maxBytes?: number }): Promise<Buffer>;
  head(key: string): Promise<ObjectHead | null>;
  /** The object as a stream (large objects, read once: exports). */
  getStream(key: string): Promise<Readable>;
  /** Uploads a stream of unknown length with S3 multipart (5 MiB parts, two in flight); returns the bytes written. */
  putStream(key: string, body: Readable, contentType: string): Promise<number>;
  /** Deletes the object (a missing one is not an error). */
  delete(key: string): Promise<void>;
  /**
   * A presigned PUT that writes `key` once, with exactly `contentType` and `size` bytes: the store checks the signed
   * Content-Type and Content-Length and refuses (412) a PUT onto an existing object (`If-None-Match: *`).
   */
  presignPut(key: string, contentType: string, size: number, ttlSeconds: number): Promise<string>;
  /** Writes `body` unless `key` exists (`If-None-Match: *`); false when it did. `signal` aborts the request. */
  putIfAbsent(key: string, body: Buffer, contentType: string, opts?: { signal?: AbortSignal }): Promise<boolean>;
  presignGet(key: string, ttlSeconds: number, serveAs?: ServeAs): Promise<string>;
  ensureBucket(): Promise<void>;
  ping(): Promise<void>;
  destroy(): void;
}

/** Thrown by `get` when the object is larger than the caller accepts (checked before the download). */
export class ObjectTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`object ${key} is ${size} bytes, over ${maxBytes}`);
    this.name = 'ObjectTooLargeError';
  }
}

/** Thrown by `get` when the key does not exist (the caller decides whether that is retryable). */
export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The headers an upload ticket signs (see presignPut). */
const UPLOAD_HEADERS = new Set(['content-type', 'content-length', 'if-none-match']);

function client(cfg: StorageConfig, endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: cfg.STORAGE_REGION,
    forcePathStyle: cfg.STORAGE_FORCE_PATH_STYLE,
    credentials: { accessKeyId: cfg.STORAGE_ACCESS_KEY, secretAccessKey: cfg.STORAGE_SECRET_KEY },
    // Checksums on every request are a newer SDK default that some S3-compatible servers reject in presigned URLs.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The HTTP status an SDK error carries, if any. */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || statusOf(err) === 404;
}

/** Creates the storage module for one bucket. */
export function createStorage(cfg: StorageConfig): Storage {
  const s3 = client(cfg, cfg.STORAGE_S3_ENDPOINT);
  // Presigned URLs are signed for the host the client will use; sign with the public endpoint when there is one.
  const signer = cfg.STORAGE_PUBLIC_ENDPOINT ? client(cfg, cfg.STORAGE_PUBLIC_ENDPOINT) : s3;
  // GETs are signed on every read of a job: directly with SigV4, not through the SDK's per-URL presigner.
  const getPresigner = createGetPresigner(cfg, cfg.STORAGE_PUBLIC_ENDPOINT ?? cfg.STORAGE_S3_ENDPOINT);
  const Bucket = cfg.STORAGE_BUCKET;
  return {
    bucket: Bucket,
    async put(key, body, contentType) {
      await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType }));
    },
    async putIfAbsent(key, body, contentType, opts = {}) {
      try {
        const command = new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: '*' });
        await s3.send(command, { abortSignal: opts.signal });
        return true;
      } catch (err) {
        // 412: the object exists; 409 (AWS ConditionalRequestConflict): another conditional write of it is under way.
        const status = statusOf(err);
        if (status === 412 || status === 409) return false;
        throw err;
      }
    },
    async delete(key) {
      await s3.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async get(key, opts = {}) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
        if (opts.maxBytes !== undefined && (out.ContentLength ?? 0) > opts.maxBytes) {
          (out.Body as { destroy?: () => void } | undefined)?.destroy?.(); // stop the download: the size is enough
          throw new ObjectTooLargeError(key, out.ContentLength ?? 0, opts.maxBytes);
        }
        // One Buffer from the chunks (transformToByteArray, then Buffer.from, copied the object twice).
        return await buffer(out.Body as Readable);
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key);
        throw err;
      }
    },
    async getStream(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
        return out.Body as Readable;
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key);
        throw err;
      }
    },
    async putStream(key, body, contentType) {
      let bytes = 0;
      const counted = body.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            done(null, chunk);
          },
        }),
      );
      body.once('error', (err) => counted.destroy(err));
      // Memory stays at queueSize × partSize whatever the object's size.
      const params = { Bucket, Key: key, Body: counted, ContentType: contentType };
      await new Upload({ client: s3, params, queueSize: 2, partSize: 5 * 1024 * 1024 }).done();
      return bytes;
    },
    async head(key) {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { size: out.ContentLength ?? 0, contentType: out.ContentType };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    presignPut(key, contentType, size, ttlSeconds) {
      // Signed headers, not hoisted query parameters: the store itself refuses a PUT of another Content-Type or
      // Content-Length (SignatureDoesNotMatch), and If-None-Match: * makes it refuse one onto an existing object.
      const command = new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: size, IfNoneMatch: '*' });
      return getSignedUrl(signer, command, { expiresIn: ttlSeconds, signableHeaders: UPLOAD_HEADERS, unhoistableHeaders: UPLOAD_HEADERS });
    },
    presignGet(key, ttlSeconds, serveAs = {}) {
      return getPresigner(key, ttlSeconds, serveAs);
    },
    async ensureBucket() {
      try {
        await s3.send(new HeadBucketCommand({ Bucket }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await s3.send(new CreateBucketCommand({ Bucket }));
      }
    },
    async ping() {
      await s3.send(new HeadBucketCommand({ Bucket }));
    },
    destroy() {
      s3.destroy();
      if (signer !== s3) signer.destroy();
    },
  };
}
