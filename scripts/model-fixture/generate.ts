/** Writes the contract-fixture model (three ONNX files) to `DIR/sam3/`; deterministic, about a second. */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipTokenizer } from '../../gpu-activities/tokenizer/clipTokenizer';
import { encodeModel } from './onnxProto';
import { SAM3_FILE_NAMES as SAM3_FILES } from '../../gpu-activities/segmenter/sam3Layout';
import { decoderGraph, imageEncoderGraph, languageEncoderGraph } from './sam3Fixture';

/** The three files' paths under a model directory. */
/** The config's default MODEL_DIR: where the contract-fixture model lives in development. */
export const DEV_MODEL_DIR = '.data/model-fixture';

export function sam3Paths(modelDir: string): { imageEncoder: string; languageEncoder: string; decoder: string } {
  const dir = join(modelDir, 'sam3');
  return {
    imageEncoder: join(dir, SAM3_FILES.imageEncoder),
    languageEncoder: join(dir, SAM3_FILES.languageEncoder),
    decoder: join(dir, SAM3_FILES.decoder),
  };
}

/** Generates the fixture into `modelDir/sam3/`, replacing what is there; returns the file paths. */
export function writeModelFixture(modelDir: string): string[] {
  const paths = sam3Paths(modelDir);
  mkdirSync(join(modelDir, 'sam3'), { recursive: true });
  const files: [string, Buffer][] = [
    [paths.imageEncoder, encodeModel(imageEncoderGraph())],
    [paths.languageEncoder, encodeModel(languageEncoderGraph())],
    [paths.decoder, encodeModel(decoderGraph(new ClipTokenizer()))],
  ];
  for (const [path, bytes] of files) {
    // Write then rename, so a concurrent reader (another test process, a worker starting) never sees half a file.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  }
  return files.map(([p]) => p);
}

/** Generates the fixture only when one of the three files is missing (dev, demo and tests call this). */
export function ensureModelFixture(modelDir: string): boolean {
  const paths = Object.values(sam3Paths(modelDir));
  if (paths.every((p) => existsSync(p))) return false;
  writeModelFixture(modelDir);
  return true;
}
