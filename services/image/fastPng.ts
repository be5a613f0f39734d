/**
 * Lossless PNG of raw 8-bit pixels through the `png` crate (@napi-rs/image): fdeflate's fast mode with an adaptive
 * filter per scanline, on libuv's thread pool. On photos it costs a third to a half of libvips' zlib level 3
 * unfiltered, and its files are about as small or smaller (bench/README "item cost"): a photo's redundancy is between
 * neighbouring pixels, which row filters expose and LZ77 matching on raw bytes mostly misses. It works on copies of the
 * pixels (the PPM below, the crate's decoded image, an output buffer): ~100 MiB at a time for 12 MP RGB, where libvips
 * streams rows (~17 MiB), so callers keep it for images of bounded size.
 */
import { CompressionType, FilterType, Transformer } from '@napi-rs/image';
import type { RawImage } from './inputImage';

/**
 * Encodes the pixels as an 8-bit RGB or RGBA PNG, bit-exactly. Not cancellable: an encode that started runs to its
 * end (napi-rs only drops queued work, and wrapping an AbortSignal would take it over).
 */
export async function encodePngFast(pixels: RawImage): Promise<Buffer> {
  const { data, width, height, channels } = pixels;
  if (data.length !== width * height * channels) throw new Error(`${data.length} bytes are not ${width}×${height}×${channels}`);
  const options = { compressionType: CompressionType.Fast, filterType: FilterType.Adaptive };
  if (channels === 4) return Transformer.fromRgbaPixels(data, width, height).png(options);
  // The crate takes raw pixels only as RGBA; RGB goes in as a binary PPM (a short header, then the same bytes),
  // which its decoder reads as RGB, so the PNG stays RGB.
  const ppm = Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), data]);
  return new Transformer(ppm).png(options);
}
