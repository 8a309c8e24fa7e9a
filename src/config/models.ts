import { optionalVariable, section, variable } from './define.js';
import { text, url } from './parsers.js';

export const modelsSection = section(
  {
    CLEARCUT_MODEL_DIR: variable({
      doc: 'Directory holding model weights (`clearcut models pull` writes here; synthetic stand-ins go to its `synthetic/` folder).',
      expected: 'a directory path',
      default: 'models/weights',
      schema: text(),
    }),
    CLEARCUT_MODEL: variable({
      doc: 'Model used when a job or command names none.',
      expected: 'a model name from `clearcut models list`',
      default: 'u2net',
      schema: text(200),
    }),
    CLEARCUT_MODEL_BASE_URL: optionalVariable({
      doc: "Mirror that `clearcut models pull` downloads model files from (`<base URL><file>.onnx`); unset means rembg's GitHub release.",
      expected: 'an http:// or https:// URL ending in /',
      schema: url(['http', 'https']).refine((value) => value.endsWith('/')),
    }),
  },
  (v) => ({ dir: v.CLEARCUT_MODEL_DIR, defaultModel: v.CLEARCUT_MODEL, baseUrl: v.CLEARCUT_MODEL_BASE_URL }),
);
