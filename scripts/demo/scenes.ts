/**
 * Synthetic photos for the demo and the end-to-end tests, painted with the contract-fixture model's reference colours
 * (so the fixture segments them like SAM3 would segment real rooms), with gentle shading and noise so they are not
 * flat fills. Deterministic: the same index gives the same picture.
 */
import sharp from 'sharp';

type RGB = [number, number, number];
const hex = (h: string): RGB => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as RGB;

/** Reference colours of the fixture model (scripts/model-fixture) for the concepts the scenes use. */
export const SCENE_COLORS = {
  wall: hex('#B4B4B4'),
  floor: hex('#8B5A2B'),
  sofa: hex('#3C64B4'),
  person: hex('#E0AC69'),
  window: hex('#87CEEB'),
  plant: hex('#006400'),
  product: hex('#FF6400'),
  background: hex('#FFFFFF'),
  shadow: hex('#101010'),
} as const;

/** A painted scene: raw RGB pixels and the label of every pixel (for checking results). */
export interface Scene {
  width: number;
  height: number;
  rgb: Buffer;
  labels: string[];
  labelOf: Uint8Array;
}

function painter(width: number, height: number, seed: number) {
  const rgb = Buffer.alloc(width * height * 3);
  const labels: string[] = [];
  const labelOf = new Uint8Array(width * height);
  let s = seed * 2654435761 || 1;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const paint = (
    label: keyof typeof SCENE_COLORS,
    inside: (x: number, y: number) => boolean,
    shade = 0,
    color: RGB = SCENE_COLORS[label],
  ) => {
    let id = labels.indexOf(label);
    if (id < 0) id = labels.push(label) - 1;
    for (let y = 0; y < height; y++) {
      // Shading: a vertical gradient of ±`shade` levels; noise of ±4 keeps every pixel well inside the fixture's
      // RGB distance of 40 from its reference colour.
      const g = shade * ((2 * y) / height - 1);
      for (let x = 0; x < width; x++) {
        if (!inside(x, y)) continue;
        const p = y * width + x;
        labelOf[p] = id;
        for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.max(0, Math.min(255, Math.round(color[c] + g + 4 * rand())));
      }
    }
  };
  return { paint, scene: (): Scene => ({ width, height, rgb, labels, labelOf }) };
}

/** A room: wall, floor, a window, a sofa, and (on most) a person; layout varies with `i`. */
export function interiorScene(i: number, width = 640, height = 480): Scene {
  const { paint, scene } = painter(width, height, i + 1);
  const horizon = Math.round(height * (0.58 + 0.04 * (i % 3)));
  paint('wall', (_x, y) => y < horizon, 12);
  paint('floor', (_x, y) => y >= horizon, 8);
  const wx = Math.round(width * (0.08 + 0.1 * (i % 4)));
  paint('window', (x, y) => x >= wx && x < wx + width * 0.22 && y >= height * 0.12 && y < height * 0.42);
  const sx = Math.round(width * (0.45 - 0.05 * (i % 3)));
  paint('sofa', (x, y) => x >= sx && x < sx + width * 0.38 && y >= horizon - height * 0.16 && y < horizon + height * 0.12, 6);
  if (i % 5 !== 4) {
    const px = width * (0.2 + 0.08 * (i % 2)),
      py = height * 0.62;
    paint('person', (x, y) => ((x - px) / (width * 0.06)) ** 2 + ((y - py) / (height * 0.26)) ** 2 <= 1);
  }
  return scene();
}

/** A product shot: a product on a plain background with a shadow under it. */
export function sellerScene(i: number, width = 600, height = 600): Scene {
  const { paint, scene } = painter(width, height, 100 + i);
  // A warm off-white studio backdrop (within the fixture's distance of 40 from its reference white), so that
  // "replace the background with white" visibly changes it.
  paint('background', () => true, 0, [245, 242, 235]);
  const cx = width * (0.42 + 0.05 * (i % 3)),
    cy = height * 0.45,
    rx = width * (0.16 + 0.03 * (i % 2)),
    ry = height * 0.22;
  paint('shadow', (x, y) => ((x - cx - rx * 0.2) / (rx * 1.1)) ** 2 + ((y - cy - ry) / (ry * 0.22)) ** 2 <= 1);
  paint('product', (x, y) =>
    i % 2 === 0 ? ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 : Math.abs(x - cx) <= rx && Math.abs(y - cy) <= ry,
  );
  return scene();
}

/** Encodes a scene as the app would upload it. */
export function encodeScene(s: Scene, format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const img = sharp(s.rgb, { raw: { width: s.width, height: s.height, channels: 3 } });
  return (format === 'jpeg' ? img.jpeg({ quality: 92, chromaSubsampling: '4:4:4' }) : img.png()).toBuffer();
}
