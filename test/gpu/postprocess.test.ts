/** SAM3 post-processing: score threshold, mask-IoU NMS, union. */
import assert from 'node:assert/strict';
import { maskCoverage, selectInstances, unionMask, type InstanceMasks } from '../../gpu-activities/segmenter/postprocess';

function instances(width: number, height: number, rects: [number, number, number, number][], float = false): InstanceMasks {
  const plane = width * height;
  const data = float ? new Float32Array(rects.length * plane) : new Uint8Array(rects.length * plane);
  rects.forEach(([x0, y0, x1, y1], k) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[k * plane + y * width + x] = float ? 0.9 : 1;
  });
  return { count: rects.length, width, height, data };
}

describe('segmentation post-processing', () => {
  it('keeps instances scoring strictly above the threshold, best first', () => {
    const m = instances(10, 10, [
      [0, 0, 2, 2],
      [5, 5, 7, 7],
      [0, 8, 2, 10],
    ]);
    assert.deepEqual(selectInstances(Float32Array.from([0.5, 0.9, 0.6]), m, { scoreThreshold: 0.5, nmsIou: 0.7 }), [1, 2]);
    assert.deepEqual(
      selectInstances(
        Float32Array.from([NaN, 0.2]),
        instances(10, 10, [
          [0, 0, 1, 1],
          [1, 1, 2, 2],
        ]),
      ),
      [],
    );
  });

  it('suppresses a duplicate whose mask IoU with a better one exceeds the threshold', () => {
    // 0 and 1 overlap with IoU 0.8; 2 overlaps 0 with IoU 0.25.
    const m = instances(20, 20, [
      [0, 0, 10, 10],
      [0, 0, 10, 8],
      [5, 0, 15, 10],
    ]);
    assert.deepEqual(selectInstances(Float32Array.from([0.9, 0.8, 0.7]), m, { scoreThreshold: 0.5, nmsIou: 0.7 }), [0, 2]);
    assert.deepEqual(selectInstances(Float32Array.from([0.8, 0.9, 0.7]), m, { scoreThreshold: 0.5, nmsIou: 0.7 }), [1, 2]);
  });

  it('compares large masks on a sampled grid (at most 288 px a side)', () => {
    const m = instances(2000, 1000, [
      [0, 0, 1000, 1000],
      [0, 0, 990, 1000],
      [1000, 0, 2000, 1000],
    ]);
    assert.deepEqual(selectInstances(Float32Array.from([0.9, 0.8, 0.7]), m), [0, 2]);
  });

  it('unions the kept instances into one 0/255 mask, for bool and probability masks', () => {
    for (const float of [false, true]) {
      const m = instances(
        4,
        2,
        [
          [0, 0, 1, 1],
          [3, 1, 4, 2],
          [1, 0, 2, 1],
        ],
        float,
      );
      const { mask, area } = unionMask(m, [0, 1, 2]);
      assert.deepEqual(Array.from(mask), [255, 255, 0, 0, 0, 0, 0, 255]);
      assert.equal(area, 3);
    }
    assert.equal(maskCoverage(Uint8Array.from([255, 0, 0, 255])), 0.5);
    assert.ok(unionMask(instances(3, 3, []), []).mask.every((v) => v === 0));
  });
});
