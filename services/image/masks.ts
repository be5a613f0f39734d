/** Mask files (8-bit PNG, 255 = inside) to and from pixels. */
import sharp from 'sharp';

/** Encodes an 8-bit mask (one byte per pixel) as a greyscale PNG. */
export async function encodeMaskPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  const view = Buffer.from(mask.buffer, mask.byteOffset, mask.length);
  // Masks are mostly long runs of 0 and 255: a fast zlib level already compresses them to a few KB.
  // b-w: without it sharp writes a one-band raw input as 3-channel sRGB.
  return sharp(view, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 3, adaptiveFiltering: false })
    .toBuffer();
}

/**
 * Decodes a mask PNG into `target` (width × height bytes). A mask of another size (a segmentation of a differently
 * oriented or resized original) is resized with nearest neighbour, so it stays binary.
 */
export async function decodeMaskInto(png: Uint8Array, width: number, height: number, target: Uint8Array): Promise<void> {
  const { data, info } = await sharp(png, { limitInputPixels: false })
    .toColourspace('b-w')
    .resize(width, height, { fit: 'fill', kernel: 'nearest' })
    .extractChannel(0)
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || data.length !== target.length) {
    throw new Error(`mask decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}`);
  }
  target.set(data);
}
