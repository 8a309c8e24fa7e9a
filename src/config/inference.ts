import { availableParallelism } from 'node:os';
import { maxOutputPixels, maxTaskOutputPixels } from '../contracts/renditions.js';
import { defaultPngEffort, pngEfforts } from '../inference/png-encoding.js';
import { optionalVariable, section, variable } from './define.js';
import { byteSize, duration, flag, oneOf, wholeNumber } from './parsers.js';

export const inferenceSection = section(
  {
    CLEARCUT_INFERENCE_THREADS: optionalVariable({
      doc: 'ONNX Runtime intra-op threads per process; defaults to the number of cores.',
      expected: 'a whole number from 1 to 256',
      schema: wholeNumber(1, 256),
    }),
    CLEARCUT_ORT_MEMORY_ARENA: variable({
      doc: "ONNX Runtime's CPU memory arena: `auto` takes each model's measured choice from the registry (on for U²-Net, off for IS-Net, whose arena holds 200–320 MiB more at its peak), `on` or `off` forces it for every model. See docs/worker.md, Memory.",
      expected: 'auto, on or off',
      default: 'auto',
      schema: oneOf(['auto', 'on', 'off']),
    }),
    CLEARCUT_ORT_MEMORY_PATTERN: variable({
      doc: "ONNX Runtime's memory pattern (pre-planned activation buffers). Off by default: measured no faster, and it raised the peak by 300–400 MiB (U²-Net) and 550–800 MiB (IS-Net).",
      expected: 'true or false',
      default: 'false',
      schema: flag(),
    }),
    CLEARCUT_ORT_SPINNING: variable({
      doc: "Whether ONNX Runtime's intra-op threads spin while waiting for work. Off by default: spinning threads take the cores sharp needs to decode and encode the other images in flight.",
      expected: 'true or false',
      default: 'false',
      schema: flag(),
    }),
    CLEARCUT_PNG_EFFORT: variable({
      doc: 'PNG encoder trade-off between CPU time and bytes: `fastest` (zlib level 1, no row filters: 48 ms and 3.6 MB per 2000×2000 photo cutout), `balanced` (Up row filter, zlib level 1: 167 ms, 1.8 MB) or `smallest` (level 6, adaptive row filters: 458 ms, 1.6 MB); CPU measured on a loaded machine, compare the ratios. See docs/worker.md, PNG effort.',
      expected: pngEfforts.join(', '),
      default: defaultPngEffort,
      schema: oneOf(pngEfforts),
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
    ort: {
      memoryArena: v.CLEARCUT_ORT_MEMORY_ARENA,
      memoryPattern: v.CLEARCUT_ORT_MEMORY_PATTERN,
      spinning: v.CLEARCUT_ORT_SPINNING,
    },
    pngEffort: v.CLEARCUT_PNG_EFFORT,
    maxInputBytes: v.CLEARCUT_MAX_INPUT_BYTES,
    maxInputPixels: v.CLEARCUT_MAX_INPUT_PIXELS,
    decodeTimeoutMs: v.CLEARCUT_DECODE_TIMEOUT,
    maxOutputPixels: v.CLEARCUT_MAX_OUTPUT_PIXELS,
    maxTaskOutputPixels: v.CLEARCUT_MAX_TASK_OUTPUT_PIXELS,
  }),
);
