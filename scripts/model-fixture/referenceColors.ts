/**
 * The contract-fixture model's documented colour rule: a prompt whose first content token is one of these words
 * segments every pixel within RGB Euclidean distance ≤ COLOR_RADIUS of its colour. The presets' prompts are these
 * words (domain/presets.ts), so the fixture, the presets, the tests and the demo agree.
 */

/** Prompt word -> reference colour (#RRGGBB). */
export const REFERENCE_COLORS: Readonly<Record<string, string>> = {
  wall: '#B4B4B4',
  floor: '#8B5A2B',
  ceiling: '#C8C8FF',
  sofa: '#3C64B4',
  curtain: '#50A050',
  cabinet: '#FFD700',
  rug: '#B41E1E',
  bed: '#F0B4C8',
  person: '#E0AC69',
  window: '#87CEEB',
  plant: '#006400',
  product: '#FF6400',
  background: '#FFFFFF',
  table: '#404040',
  model: '#C87850',
  shadow: '#101010',
  logo: '#000080',
};

/** Inclusive RGB Euclidean distance within which a pixel belongs to a prompt's mask. */
export const COLOR_RADIUS = 40;

/** Score of the fixture's single instance when its mask is non-empty (0 otherwise). */
export const FIXTURE_SCORE = 0.95;

/** [r, g, b] of a #RRGGBB colour. */
export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
