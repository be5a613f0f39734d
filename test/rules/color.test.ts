/** Colour maths: CIEDE2000 against the published Sharma–Wu–Dalal (2005) test data, sRGB <-> CIELAB anchors. */
import assert from 'node:assert/strict';
import { deltaE2000 } from '../../activities/rules/ciede2000';
import { labToRgb, parseHex, rgbToLab, type Lab } from '../../activities/rules/color';

// Sharma, Wu, Dalal, "The CIEDE2000 Color-Difference Formula: Implementation Notes, Supplementary Test Data, and
// Mathematical Observations", Color Res. Appl. 30(1), 2005, Table 1: L1 a1 b1, L2 a2 b2, ΔE00.
const SHARMA: [number, number, number, number, number, number, number][] = [
  [50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485, 2.0425],
  [50.0, 3.1571, -77.2803, 50.0, 0.0, -82.7485, 2.8615],
  [50.0, 2.8361, -74.02, 50.0, 0.0, -82.7485, 3.4412],
  [50.0, -1.3802, -84.2814, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -1.1848, -84.8006, 50.0, 0.0, -82.7485, 1.0],
  [50.0, -0.9009, -85.5211, 50.0, 0.0, -82.7485, 1.0],
  [50.0, 0.0, 0.0, 50.0, -1.0, 2.0, 2.3669],
  [50.0, -1.0, 2.0, 50.0, 0.0, 0.0, 2.3669],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0009, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.001, 7.1792],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0011, 7.2195],
  [50.0, 2.49, -0.001, 50.0, -2.49, 0.0012, 7.2195],
  [50.0, -0.001, 2.49, 50.0, 0.0009, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.001, -2.49, 4.8045],
  [50.0, -0.001, 2.49, 50.0, 0.0011, -2.49, 4.7461],
  [50.0, 2.5, 0.0, 50.0, 0.0, -2.5, 4.3065],
  [50.0, 2.5, 0.0, 73.0, 25.0, -18.0, 27.1492],
  [50.0, 2.5, 0.0, 61.0, -5.0, 29.0, 22.8977],
  [50.0, 2.5, 0.0, 56.0, -27.0, -3.0, 31.903],
  [50.0, 2.5, 0.0, 58.0, 24.0, 15.0, 19.4535],
  [50.0, 2.5, 0.0, 50.0, 3.1736, 0.5854, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2972, 0.0, 1.0],
  [50.0, 2.5, 0.0, 50.0, 1.8634, 0.5757, 1.0],
  [50.0, 2.5, 0.0, 50.0, 3.2592, 0.335, 1.0],
  [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
  [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.263],
  [61.2901, 3.7196, -5.3901, 61.4292, 2.248, -4.962, 1.8731],
  [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
  [22.7233, 20.0904, -46.694, 23.0331, 14.973, -42.5619, 2.0373],
  [36.4612, 47.858, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
  [90.8027, -2.0831, 1.441, 91.1528, -1.6435, 0.0447, 1.4441],
  [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
  [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
  [2.0776, 0.0795, -1.135, 0.9033, -0.0636, -0.5514, 0.9082],
];

describe('colour maths', () => {
  it('CIEDE2000 reproduces all 34 Sharma et al. pairs to 1e-4, in both orders', () => {
    for (const [i, [L1, a1, b1, L2, a2, b2, expected]] of SHARMA.entries()) {
      const p: Lab = [L1, a1, b1];
      const q: Lab = [L2, a2, b2];
      assert.ok(Math.abs(deltaE2000(p, q) - expected) < 1e-4, `pair ${i + 1}: ${deltaE2000(p, q)} vs ${expected}`);
      assert.ok(Math.abs(deltaE2000(q, p) - expected) < 1e-4, `pair ${i + 1} reversed`);
    }
    assert.equal(deltaE2000([40, 10, -20], [40, 10, -20]), 0);
  });

  it('converts sRGB to CIELAB (D65) at the usual anchors', () => {
    const close = (got: Lab, want: Lab, tol: number): void =>
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < tol, `${got} vs ${want}`));
    close(rgbToLab([255, 255, 255]), [100, 0, 0], 1e-3);
    close(rgbToLab([0, 0, 0]), [0, 0, 0], 1e-9);
    close(rgbToLab([255, 0, 0]), [53.2408, 80.0925, 67.2032], 2e-3);
    close(rgbToLab([0, 0, 255]), [32.297, 79.1875, -107.8602], 2e-3);
    close(rgbToLab([128, 128, 128]), [53.585, 0, 0], 2e-3);
  });

  it('round-trips every 8-bit grey and a lattice of colours through CIELAB', () => {
    for (let v = 0; v < 256; v++) assert.deepEqual(labToRgb(rgbToLab([v, v, v])), [v, v, v]);
    for (let r = 0; r < 256; r += 15) {
      for (let g = 0; g < 256; g += 15) for (let b = 0; b < 256; b += 15) assert.deepEqual(labToRgb(rgbToLab([r, g, b])), [r, g, b]);
    }
    assert.deepEqual(parseHex('#A3b18a'), [0xa3, 0xb1, 0x8a]);
  });
});
