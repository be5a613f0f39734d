/** Object keys of the storage layout (API.md, "Storage layout"). Payloads carry these keys, never image bytes. */

/** The content types an upload may have, with the file extension each is stored under. */
export const UPLOAD_TYPES = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const;
/** An accepted upload content type. */
export type UploadContentType = keyof typeof UPLOAD_TYPES;

/** Where the app uploads item `idx` of a job. */
export function inputKey(userId: string, jobId: string, idx: number, contentType: UploadContentType): string {
  return `inputs/${userId}/${jobId}/${idx}.${UPLOAD_TYPES[contentType]}`;
}

/** The formats a result can be written in (API.md "Output format"): png is lossless, the default. */
export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
/** A result's output format. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** File extension and Content-Type of each output format. */
export const OUTPUT_TYPES: Record<OutputFormat, { ext: string; contentType: string }> = {
  png: { ext: 'png', contentType: 'image/png' },
  jpeg: { ext: 'jpg', contentType: 'image/jpeg' },
  webp: { ext: 'webp', contentType: 'image/webp' },
};

/** `v{n}/` for variant n of a job (compare), nothing for the job's own results (variant 0). */
function variantDir(variant: number): string {
  return variant > 0 ? `v${variant}/` : '';
}

/** Where the result of item `idx` is written: the job's own (variant 0) or variant n's, in its output format. */
export function resultKey(userId: string, jobId: string, idx: number, format: OutputFormat = 'png', variant = 0): string {
  return `outputs/${userId}/${jobId}/${variantDir(variant)}${idx}_result.${OUTPUT_TYPES[format].ext}`;
}

/** Where the 8-bit mask of one concept (or protect concept) of item `idx` is written. */
export function maskKey(userId: string, jobId: string, idx: number, concept: string): string {
  return `masks/${userId}/${jobId}/${idx}_${concept}.png`;
}

/** Where the JPEG preview (≤ 512 px long side) of item `idx` is written (of variant n when given). */
export function previewKey(userId: string, jobId: string, idx: number, variant = 0): string {
  return `previews/${userId}/${jobId}/${variantDir(variant)}${idx}_thumb.jpg`;
}

/** Largest accepted upload, in bytes (API.md, confirm-upload). */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
