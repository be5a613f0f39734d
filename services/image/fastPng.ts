/**
 * Lossless PNG of raw 8-bit pixels through the `png` crate (@napi-rs/image): fdeflate's fast mode with an adaptive
 * filter per scanline, on libuv's thread pool. On photos it costs a third to a half of libvips' zlib level 3
 * unfiltered, and its files are about as small or smaller (bench/README "item cost"): a photo's redundancy is between
 * neighbouring pixels, which row filters expose and LZ77 matching on raw bytes mostly misses. The crate decodes its input
 * into an image of its own and writes into a growing output buffer: measured on 12 MP RGB, the process peaks ~62 MiB
 * higher while it encodes (~96 MiB when the pixels are also copied behind a PPM header, without `headroom`) where
 * libvips streams rows (~24 MiB, its output), so callers keep it for images of bounded size.
 */
import { CompressionType, FilterType, Transformer } from '@napi-rs/image';
import type { RawImage } from './inputImage';

/**
 * Bytes a caller may leave free just before RGB pixels in their buffer, so that the encoder writes its PPM header there
 * and reads the pixels in place (FastPngOptions.headroom) instead of copying them behind a header.
 */
export const PPM_HEADROOM = 32;

/** How encodePngFast may use the memory around the pixels. */
export interface FastPngOptions {
  /**
   * The PPM_HEADROOM bytes just before `pixels.data` in its buffer are the caller's scratch: the header is written
   * there, and the pixels are not copied (a 12 MP copy is 36 MB of fresh memory and ~20 ms of the event loop).
   */
  headroom?: boolean;
}

/**
 * A binary PPM header of exactly PPM_HEADROOM bytes: PNM allows any run of whitespace between the fields, and the one
 * whitespace byte after the maximum value ends the header.
 */
function ppmHeader(width: number, height: number): Buffer {
  const fields = `P6 ${width} ${height}`;
  const tail = '\n255\n';
  if (fields.length + tail.length > PPM_HEADROOM) throw new Error(`${width}×${height} does not fit a PPM header`);
  return Buffer.from(fields.padEnd(PPM_HEADROOM - tail.length, ' ') + tail, 'latin1');
}

/**
 * Encodes the pixels as an 8-bit RGB or RGBA PNG, bit-exactly. Not cancellable: an encode that started runs to its
 * end (napi-rs only drops queued work, and wrapping an AbortSignal would take it over).
 */
export async function encodePngFast(pixels: RawImage, opts: FastPngOptions = {}): Promise<Buffer> {
  const { data, width, height, channels } = pixels;
  if (data.length !== width * height * channels) throw new Error(`${data.length} bytes are not ${width}×${height}×${channels}`);
  const options = { compressionType: CompressionType.Fast, filterType: FilterType.Adaptive };
  if (channels === 4) return Transformer.fromRgbaPixels(data, width, height).png(options);
  // The crate takes raw pixels only as RGBA; RGB goes in as a binary PPM (a header, then the same bytes), which its
  // decoder reads as RGB, so the PNG stays RGB.
  const header = ppmHeader(width, height);
  if (!opts.headroom) return new Transformer(Buffer.concat([header, data])).png(options);
  if (data.byteOffset < PPM_HEADROOM) throw new Error(`no ${PPM_HEADROOM}-byte headroom before the pixels`);
  const ppm = Buffer.from(data.buffer, data.byteOffset - PPM_HEADROOM, PPM_HEADROOM + data.length);
  header.copy(ppm);
  return new Transformer(ppm).png(options);
}
