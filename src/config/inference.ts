import { availableParallelism } from 'node:os';
import { maxOutputPixels, maxTaskOutputPixels } from '../contracts/renditions.js';
import { optionalVariable, section, variable } from './define.js';
import { byteSize, duration, wholeNumber } from './parsers.js';

export const inferenceSection = section(
  {
    CLEARCUT_INFERENCE_THREADS: optionalVariable({
      doc: 'ONNX Runtime intra-op threads per process; defaults to the number of cores.',
      expected: 'a whole number from 1 to 256',
      schema: wholeNumber(1, 256),
    }),
    CLEARCUT_MAX_INPUT_BYTES: variable({
      doc: 'Largest source image accepted, in bytes (e.g. 50MB, 64MiB); larger downloads are cut off.',
      expected: 'a byte size such as 52428800, 50MB or 64MiB',
      default: '50MB',
      schema: byteSize(1024),
    }),
    CLEARCUT_MAX_INPUT_PIXELS: variable({
      doc: 'Largest decoded image accepted, in pixels (width × height); guards against decompression bombs.',
      expected: 'a whole number of pixels, at least 1',
      default: '100000000',
      schema: wholeNumber(1),
    }),
    CLEARCUT_DECODE_TIMEOUT: variable({
      doc: 'Longest time one image may take to decode (e.g. 30s).',
      expected: 'a duration such as 500ms, 30s or 2m',
      default: '30s',
      schema: duration(1),
    }),
    CLEARCUT_MAX_OUTPUT_PIXELS: variable({
      doc: `Largest output one rendition may have, in pixels (width × height); a larger one fails its image with \`output_too_large\` on the first attempt. At most the job contract's ${maxOutputPixels}, which the gateway checks against options such as \`minSide\`.`,
      expected: `a whole number of pixels from 1 to ${maxOutputPixels}`,
      default: String(maxOutputPixels),
      schema: wholeNumber(1, maxOutputPixels),
    }),
    CLEARCUT_MAX_TASK_OUTPUT_PIXELS: variable({
      doc: `Largest total of one image's outputs (every rendition and size), in pixels; beyond it the image fails with \`output_too_large\` on the first attempt. At most the job contract's ${maxTaskOutputPixels}.`,
      expected: `a whole number of pixels from 1 to ${maxTaskOutputPixels}`,
      default: String(maxTaskOutputPixels),
      schema: wholeNumber(1, maxTaskOutputPixels),
    }),
  },
  (v) => ({
    threads: v.CLEARCUT_INFERENCE_THREADS ?? availableParallelism(),
    maxInputBytes: v.CLEARCUT_MAX_INPUT_BYTES,
    maxInputPixels: v.CLEARCUT_MAX_INPUT_PIXELS,
    decodeTimeoutMs: v.CLEARCUT_DECODE_TIMEOUT,
    maxOutputPixels: v.CLEARCUT_MAX_OUTPUT_PIXELS,
    maxTaskOutputPixels: v.CLEARCUT_MAX_TASK_OUTPUT_PIXELS,
  }),
);
