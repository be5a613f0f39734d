/**
 * Reading an uploaded original: validation (the item failures a retry cannot fix) and decoding to upright 8-bit
 * sRGB pixels with sharp. Every path that reads an original goes through here, so segment and applyRule agree on
 * orientation, size and what counts as a bad image.
 */
import sharp, { type Sharp, type Metadata } from 'sharp';
import { MAX_UPLOAD_BYTES } from '../../domain/storageKeys';
import { ItemFailure } from '../../domain/jobData';

/** Limits on an original. */
export interface ImageLimits {
  /** Largest width × height accepted (sharp's limitInputPixels, the decompression-bomb guard). */
  maxInputPixels: number;
  /** Largest encoded size accepted. */
  maxInputBytes: number;
}

/** 50 MP and the upload limit of API.md. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxInputPixels: 50_000_000, maxInputBytes: MAX_UPLOAD_BYTES };

/** The formats an upload may have (API.md, POST /jobs content_type). */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/** A bad original: the item fails with `type`, retrying cannot help. */
export class ItemImageError extends Error {
  constructor(
    readonly type: ItemFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ItemImageError';
  }
}

/** Decoded pixels: interleaved 8-bit sRGB, 3 channels (or 4 when the original has alpha), upright. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** What inspection learns from the header. */
export interface ImageInfo {
  format: string;
  /** Upright size (EXIF orientation applied). */
  width: number;
  height: number;
  hasAlpha: boolean;
}

/** A sharp pipeline on an original: EXIF orientation applied, pixel limit enforced, decode errors fatal. */
export function openImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Sharp {
  // failOn 'error' rejects truncated and corrupt files but tolerates the harmless warnings many phone JPEGs carry.
  return sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'error', autoOrient: true });
}

/** Reads the header and checks size and format; throws ItemImageError for a file no retry can fix. */
export async function inspectImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<ImageInfo> {
  if (bytes.length === 0) throw new ItemImageError(ItemFailure.INVALID_IMAGE, 'the uploaded file is empty');
  if (bytes.length > limits.maxInputBytes) {
    throw new ItemImageError(ItemFailure.IMAGE_TOO_LARGE, `the file is ${bytes.length} bytes, over ${limits.maxInputBytes}`);
  }
  let meta: Metadata;
  try {
    // No pixel limit here: the header alone is read, and the size is judged below with a precise message.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ItemImageError(ItemFailure.INVALID_IMAGE, `not a readable image: ${(err as Error).message}`);
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new ItemImageError(ItemFailure.INVALID_IMAGE, `unsupported image format '${meta.format ?? 'unknown'}'`);
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new ItemImageError(ItemFailure.INVALID_IMAGE, 'the image has no pixels');
  if (width * height > limits.maxInputPixels) {
    throw new ItemImageError(
      ItemFailure.IMAGE_TOO_LARGE,
      `the image is ${width}×${height} (${((width * height) / 1e6).toFixed(1)} MP), over ${(limits.maxInputPixels / 1e6).toFixed(1)} MP`,
    );
  }
  return { format: meta.format, width, height, hasAlpha: meta.hasAlpha ?? false };
}

/** Maps a sharp decode failure to the item failure it is (sharp reports both as plain Errors). */
export function classifyDecodeError(err: unknown): Error {
  if (err instanceof ItemImageError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (/pixel limit/i.test(message)) return new ItemImageError(ItemFailure.IMAGE_TOO_LARGE, message);
  return new ItemImageError(ItemFailure.INVALID_IMAGE, `the image could not be decoded: ${message}`);
}

/** Validates and decodes an original to upright 8-bit sRGB (alpha kept when present). */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<RawImage> {
  const info = await inspectImage(bytes, limits);
  try {
    const pipeline = openImage(bytes, limits).toColourspace('srgb');
    const { data, info: out } = await (info.hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha())
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: out.width, height: out.height, channels: out.channels === 4 ? 4 : 3 };
  } catch (err) {
    throw classifyDecodeError(err);
  }
}
