/** The fast PNG encoder (services/image/fastPng.ts); its round trips through the engine are in rules.test.ts. */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodePngFast, PPM_HEADROOM } from '../../services/image/fastPng';

describe('fast PNG encoder', () => {
  it('writes RGB pixels in place: its header goes into the headroom before them, the pixels stay as they are', async () => {
    const [width, height] = [1031, 67];
    const buffer = new Uint8Array(new SharedArrayBuffer(PPM_HEADROOM + width * height * 3)).fill(0xa5);
    const data = buffer.subarray(PPM_HEADROOM);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 7)) & 255;
    const before = Buffer.from(data);
    const png = await encodePngFast({ data, width, height, channels: 3 }, { headroom: true });
    assert.ok(png.equals(await encodePngFast({ data: before, width, height, channels: 3 })), 'the same file as from a copy');
    const { data: back, info } = await sharp(png).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    assert.ok(back.equals(before) && Buffer.from(data).equals(before), 'lossless, and the pixels are untouched');
    assert.match(Buffer.from(buffer.subarray(0, PPM_HEADROOM)).toString('latin1'), /^P6 1031 67 +\n255\n$/);
    await assert.rejects(
      encodePngFast({ data: buffer.subarray(8, 8 + width * 3), width, height: 1, channels: 3 }, { headroom: true }),
      /headroom/,
    );
  });
});
