import { z } from 'zod';
import { catalogNames } from '../models/catalog.js';
import { optionalVariable, section, variable } from './define.js';
import { flag, text, url } from './parsers.js';

/** "u2net,u2netp-int8": names from the catalog, each once. */
function modelList() {
  return z.string().transform((value, ctx) => {
    const names = value.split(',').map((name) => name.trim());
    if (names.some((name) => !catalogNames.includes(name)) || new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', message: 'not a model list' });
      return z.NEVER;
    }
    return names;
  });
}

export const modelsSection = section(
  {
    CLEARCUT_MODEL_DIR: variable({
      doc: 'Directory holding model weights, relative to the current directory unless absolute: set an absolute path to share one set of weights between folders (`clearcut models pull` and `models import` write here; synthetic stand-ins go to its `synthetic/` folder).',
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
    CLEARCUT_MODELS: optionalVariable({
      doc: 'The models this stack serves, comma-separated: gateways and event consumers refuse jobs naming others (`unknown_model`); every worker loads all of them before it takes a task (an `-int8` variant must be built first with `clearcut models quantize`), and nothing else. Give gateways and workers the same list. Unset means CLEARCUT_MODEL alone.',
      expected: `comma-separated distinct names among ${catalogNames.join(', ')}`,
      schema: modelList(),
    }),
    CLEARCUT_ALLOW_SYNTHETIC_MODELS: variable({
      doc: 'Whether a worker may serve a synthetic stand-in (meaningless masks) for a model whose weights are absent; for tests and demos only. Its outputs are then marked synthetic.',
      expected: 'true or false',
      default: 'false',
      schema: flag(),
    }),
    CLEARCUT_MODEL_BASE_URL: optionalVariable({
      doc: "Mirror that `clearcut models pull` downloads model files from (`<base URL><file>.onnx`); unset means rembg's GitHub release.",
      expected: 'an http:// or https:// URL ending in /',
      schema: url(['http', 'https']).refine((value) => value.endsWith('/')),
    }),
  },
  (v) => ({
    dir: v.CLEARCUT_MODEL_DIR,
    defaultModel: v.CLEARCUT_MODEL,
    served: v.CLEARCUT_MODELS ?? [v.CLEARCUT_MODEL],
    allowSynthetic: v.CLEARCUT_ALLOW_SYNTHETIC_MODELS,
    baseUrl: v.CLEARCUT_MODEL_BASE_URL,
  }),
  (v) => {
    const served = v.CLEARCUT_MODELS;
    if (!catalogNames.includes(v.CLEARCUT_MODEL))
      return [
        `CLEARCUT_MODEL=${JSON.stringify(v.CLEARCUT_MODEL)} is not a known model: expected one of ${catalogNames.join(', ')}.`,
      ];
    if (served === undefined || served.includes(v.CLEARCUT_MODEL)) return [];
    return [
      `CLEARCUT_MODEL=${JSON.stringify(v.CLEARCUT_MODEL)} is not among CLEARCUT_MODELS (${served.join(', ')}): jobs naming no model would be refused. Add it to CLEARCUT_MODELS or choose one of them.`,
    ];
  },
);
