import { section, variable } from './define.js';
import { text } from './parsers.js';

export const modelsSection = section(
  {
    CLEARCUT_MODEL_DIR: variable({
      doc: 'Directory holding model weights (`clearcut models pull` writes here).',
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
  },
  (v) => ({ dir: v.CLEARCUT_MODEL_DIR, defaultModel: v.CLEARCUT_MODEL }),
);
