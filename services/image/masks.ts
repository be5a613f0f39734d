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

/** A decoded mask: one byte per pixel (255 = inside), row-major. */
export interface MaskPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes a mask PNG at its own size (masks are stored at the segmenter's working resolution). */
export async function decodeMask(png: Uint8Array): Promise<MaskPixels> {
  const { data, info } = await sharp(png, { limitInputPixels: false })
    .toColourspace('b-w')
    .extractChannel(0)
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
