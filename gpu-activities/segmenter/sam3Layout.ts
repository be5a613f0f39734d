/** The SAM3 ONNX export's file layout and input size, shared by the segmenter and the fixture generator. */

/** File names under `MODEL_DIR/sam3/`. */
export const SAM3_FILE_NAMES = {
  imageEncoder: 'sam3_image_encoder.onnx',
  languageEncoder: 'sam3_language_encoder.onnx',
  decoder: 'sam3_decoder.onnx',
} as const;

/** The image encoder's square input side. */
export const SAM3_IMAGE_SIZE = 1008;
