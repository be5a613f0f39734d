/** Object keys of the storage layout (API.md, "Storage layout"). Payloads carry these keys, never image bytes. */

/** The content types an upload may have, with the file extension each is stored under. */
export const UPLOAD_TYPES = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const;
/** An accepted upload content type. */
export type UploadContentType = keyof typeof UPLOAD_TYPES;

/** Where the app uploads item `idx` of a job. */
export function inputKey(userId: string, jobId: string, idx: number, contentType: UploadContentType): string {
  return `inputs/${userId}/${jobId}/${idx}.${UPLOAD_TYPES[contentType]}`;
}

/** Where the result PNG of item `idx` is written. */
export function resultKey(userId: string, jobId: string, idx: number): string {
  return `outputs/${userId}/${jobId}/${idx}_result.png`;
}

/** Where the 8-bit mask of one concept (or protect concept) of item `idx` is written. */
export function maskKey(userId: string, jobId: string, idx: number, concept: string): string {
  return `masks/${userId}/${jobId}/${idx}_${concept}.png`;
}

/** Where the JPEG preview (≤ 512 px long side) of item `idx` is written. */
export function previewKey(userId: string, jobId: string, idx: number): string {
  return `previews/${userId}/${jobId}/${idx}_thumb.jpg`;
}

/** Largest accepted upload, in bytes (API.md, confirm-upload). */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
