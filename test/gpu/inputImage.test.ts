/** Reading originals: every kind of bad input is a non-retryable item failure of the right type. */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { ItemFailure } from '../../domain/jobData';
import { DEFAULT_IMAGE_LIMITS, ItemImageError, decodeImage, inspectImage } from '../../services/image/inputImage';
import { paint, png, pngClaimingSize } from '../fixtures/gpu/images';

async function failure(work: Promise<unknown>): Promise<ItemImageError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof ItemImageError, `expected ItemImageError, got ${err}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('input images', () => {
  const photo = paint(64, 48, (x, y) => [x * 4, y * 5, 128]);

  it('decodes JPEG, PNG and WebP to upright 8-bit sRGB, keeping alpha when present', async () => {
    const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
    for (const file of [await sharp(photo.data, raw).jpeg().toBuffer(), await png(photo), await sharp(photo.data, raw).webp().toBuffer()]) {
      const img = await decodeImage(file);
      assert.deepEqual([img.width, img.height, img.channels], [64, 48, 3]);
    }
    const rgba = await decodeImage(await png(paint(8, 8, () => [10, 20, 30, 40], 4)));
    assert.deepEqual([rgba.channels, ...rgba.data.subarray(0, 4)], [4, 10, 20, 30, 40]);
    const grey = await decodeImage(
      await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } })
        .png()
        .toBuffer(),
    );
    assert.deepEqual([grey.channels, ...grey.data.subarray(0, 3)], [3, 77, 77, 77]);
  });

  it('reports the upright size of an EXIF-rotated JPEG', async () => {
    const jpeg = await sharp(photo.data, { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 8 })
      .toBuffer();
    assert.deepEqual([(await inspectImage(jpeg)).width, (await inspectImage(jpeg)).height], [48, 64]);
    const img = await decodeImage(jpeg);
    assert.deepEqual([img.width, img.height], [48, 64]);
  });

  it('an empty file is INVALID_IMAGE', async () => {
    assert.equal((await failure(decodeImage(Buffer.alloc(0)))).type, ItemFailure.INVALID_IMAGE);
  });

  it('a non-image is INVALID_IMAGE', async () => {
    assert.equal((await failure(decodeImage(Buffer.from('{"not":"an image"}')))).type, ItemFailure.INVALID_IMAGE);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    assert.match((await failure(decodeImage(svg))).message, /unsupported image format 'svg'/);
    const gif = await sharp(photo.data, { raw: { width: 64, height: 48, channels: 3 } })
      .gif()
      .toBuffer();
    assert.equal((await failure(decodeImage(gif))).type, ItemFailure.INVALID_IMAGE);
  });

  it('a truncated JPEG and a PNG with damaged data are INVALID_IMAGE', async () => {
    const jpeg = await sharp(photo.data, { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg()
      .toBuffer();
    assert.equal((await failure(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))))).type, ItemFailure.INVALID_IMAGE);
    const file = Buffer.from(await png(paint(64, 48, (x, y) => [(x * 37) % 256, (y * 91) % 256, (x * y) % 256])));
    const idat = file.indexOf('IDAT');
    for (let i = idat + 8; i < idat + 40; i++) file[i] ^= 0x5a;
    assert.equal((await failure(decodeImage(file))).type, ItemFailure.INVALID_IMAGE);
  });

  it('more pixels than the limit is IMAGE_TOO_LARGE, judged from the header before any decoding', async () => {
    const bomb = await pngClaimingSize(20_000, 20_000);
    assert.ok(bomb.length < 200);
    const err = await failure(decodeImage(bomb));
    assert.equal(err.type, ItemFailure.IMAGE_TOO_LARGE);
    assert.match(err.message, /20000×20000 \(400\.0 MP\), over 50\.0 MP/);
    const small = { ...DEFAULT_IMAGE_LIMITS, maxInputPixels: 1000 };
    assert.equal((await failure(decodeImage(await png(photo), small))).type, ItemFailure.IMAGE_TOO_LARGE);
  });

  it('more bytes than the upload limit is IMAGE_TOO_LARGE', async () => {
    const limits = { ...DEFAULT_IMAGE_LIMITS, maxInputBytes: 100 };
    assert.equal((await failure(decodeImage(await png(photo), limits))).type, ItemFailure.IMAGE_TOO_LARGE);
  });
});
