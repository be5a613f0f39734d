/** Writes the contract-fixture model (three ONNX files, in either export layout) to `DIR/sam3/`; deterministic, about a second. */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipTokenizer } from '../../gpu-activities/tokenizer/clipTokenizer';
import { SAM3_LAYOUTS, sam3LayoutPaths, type Sam3LayoutName } from '../../gpu-activities/segmenter/sam3Layout';
import { encodeModel, type GraphDef } from './onnxProto';
import { decoderGraph, imageEncoderGraph, languageEncoderGraph } from './sam3Fixture';
import { textEncoderGraph, uslsDecoderGraph, visionEncoderGraph } from './uslsFixture';

/** The config's default MODEL_DIR: where the contract-fixture model lives in development. */
export const DEV_MODEL_DIR = '.data/model-fixture';

/** The three files' paths under a model directory, in `layout` (default samexporter's). */
export function sam3Paths(
  modelDir: string,
  layout: Sam3LayoutName = 'samexporter',
): { imageEncoder: string; languageEncoder: string; decoder: string } {
  return sam3LayoutPaths(modelDir, layout);
}

function graphs(layout: Sam3LayoutName): { imageEncoder: GraphDef; languageEncoder: GraphDef; decoder: GraphDef } {
  const tokenizer = new ClipTokenizer();
  return layout === 'usls-v2'
    ? { imageEncoder: visionEncoderGraph(), languageEncoder: textEncoderGraph(), decoder: uslsDecoderGraph(tokenizer) }
    : { imageEncoder: imageEncoderGraph(), languageEncoder: languageEncoderGraph(), decoder: decoderGraph(tokenizer) };
}

/**
 * Generates the fixture in `layout` into `modelDir/sam3/`, replacing what is there (the other layout's files are
 * removed, so the segmenter detects this one); returns the file paths.
 */
export function writeModelFixture(modelDir: string, layout: Sam3LayoutName = 'samexporter'): string[] {
  const paths = sam3Paths(modelDir, layout);
  const g = graphs(layout);
  mkdirSync(join(modelDir, 'sam3'), { recursive: true });
  const files: [string, Buffer][] = [
    [paths.imageEncoder, encodeModel(g.imageEncoder)],
    [paths.languageEncoder, encodeModel(g.languageEncoder)],
    [paths.decoder, encodeModel(g.decoder)],
  ];
  for (const [path, bytes] of files) {
    // Write then rename, so a concurrent reader (another test process, a worker starting) never sees half a file.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  }
  for (const other of SAM3_LAYOUTS.filter((l) => l !== layout)) {
    for (const path of Object.values(sam3Paths(modelDir, other))) rmSync(path, { force: true });
  }
  return files.map(([p]) => p);
}

/** Generates the fixture only when one of the layout's three files is missing (dev, demo and tests call this). */
export function ensureModelFixture(modelDir: string, layout: Sam3LayoutName = 'samexporter'): boolean {
  if (Object.values(sam3Paths(modelDir, layout)).every((p) => existsSync(p))) return false;
  writeModelFixture(modelDir, layout);
  return true;
}
