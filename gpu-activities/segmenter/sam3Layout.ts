/**
 * The SAM3 ONNX export layouts the segmenter serves, their file names under `MODEL_DIR/sam3/` and input size; shared
 * by the segmenter and the fixture generator. The layout is detected from which files are present.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The export layouts: samexporter/AnyLabeling's (batch 1) and jamjamjon/usls's export_v2.py (dynamic batch axis). */
export const SAM3_LAYOUTS = ['samexporter', 'usls-v2'] as const;

/** One of the export layouts. */
export type Sam3LayoutName = (typeof SAM3_LAYOUTS)[number];

/** File names of each layout under `MODEL_DIR/sam3/`: image/vision encoder, language/text encoder, decoder. */
export const SAM3_LAYOUT_FILES: Readonly<Record<Sam3LayoutName, { imageEncoder: string; languageEncoder: string; decoder: string }>> = {
  samexporter: {
    imageEncoder: 'sam3_image_encoder.onnx',
    languageEncoder: 'sam3_language_encoder.onnx',
    decoder: 'sam3_decoder.onnx',
  },
  'usls-v2': {
    imageEncoder: 'vision-encoder.onnx',
    languageEncoder: 'text-encoder.onnx',
    decoder: 'decoder.onnx',
  },
};

/** File names of the samexporter layout (the original one). */
export const SAM3_FILE_NAMES = SAM3_LAYOUT_FILES.samexporter;

/** The image encoder's square input side (both layouts export at 1008²). */
export const SAM3_IMAGE_SIZE = 1008;

/** The three files of `layout` under `modelDir/sam3/`. */
export function sam3LayoutPaths(
  modelDir: string,
  layout: Sam3LayoutName,
): { imageEncoder: string; languageEncoder: string; decoder: string } {
  const files = SAM3_LAYOUT_FILES[layout];
  const dir = join(modelDir, 'sam3');
  return {
    imageEncoder: join(dir, files.imageEncoder),
    languageEncoder: join(dir, files.languageEncoder),
    decoder: join(dir, files.decoder),
  };
}

/**
 * The layout whose three files are all in `modelDir/sam3/`, or undefined. When both are complete the batched one
 * (usls-v2) wins: it serves any batch size, samexporter's only one image per call.
 */
export function detectSam3Layout(modelDir: string): Sam3LayoutName | undefined {
  const complete = (layout: Sam3LayoutName) => Object.values(sam3LayoutPaths(modelDir, layout)).every((p) => existsSync(p));
  if (complete('usls-v2')) return 'usls-v2';
  if (complete('samexporter')) return 'samexporter';
  return undefined;
}
