/**
 * The `zip` template, streamed: each result is read from storage as a stream, stored (not deflated: PNG/JPEG/WebP are
 * compressed already) into the archive, and the archive goes to storage as an S3 multipart upload. Memory stays
 * bounded by one entry's buffers and the upload's parts, whatever the set's size (500 × 11 MiB PNGs included).
 */
import { PassThrough } from 'node:stream';
import archiver from 'archiver';
import type { Storage } from '../../services/storage';
import type { ExportBuildInput, ExportBuildResult } from '../../domain/exports';

/** Writes the zip of `input.files` plus `manifest.json` to `input.targetKey`. */
export async function buildZip(
  storage: Pick<Storage, 'getStream' | 'putStream'>,
  input: ExportBuildInput,
  onEntry: () => void,
): Promise<ExportBuildResult> {
  const archive = archiver('zip', { store: true });
  const out = new PassThrough();
  archive.pipe(out);
  const uploaded = storage.putStream(input.targetKey, out, 'application/zip');
  let failed: ((err: Error) => void) | undefined;
  const broken = new Promise<never>((_, reject) => (failed = reject));
  broken.catch(() => undefined); // observed through the races below
  archive.on('error', (err) => failed?.(err));
  const fill = async () => {
    archive.append(JSON.stringify(input.manifest, null, 2), { name: 'manifest.json' });
    for (const f of input.files) {
      // One entry at a time: the next object is opened only once the archive has consumed the previous one.
      const consumed = new Promise<void>((resolve) => archive.once('entry', () => resolve()));
      archive.append(await storage.getStream(f.key), { name: f.name });
      await Promise.race([consumed, broken]);
      onEntry();
    }
    await Promise.race([archive.finalize(), broken]);
  };
  try {
    const [, bytes] = await Promise.all([fill(), uploaded]);
    return { key: input.targetKey, bytes, contentType: 'application/zip' };
  } catch (err) {
    archive.abort();
    out.destroy();
    throw err;
  }
}
