// A model file the registry does not list (converted, quantized, or taken from another package),
// run with the pre/post-processing of a named registry family. The engine cannot tell it from a
// pulled model: same ResolvedModel, same checks, with the sha256 computed here from the file itself.
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelSpec } from '../../models/model-spec.js';
import { PermanentError } from '../errors.js';
import { fileDigest } from './model-digest.js';
import { findModel, type ResolvedModel } from './registry.js';

/** Pre-processing that differs from the family's (e.g. to measure another normalisation). */
export type LocalModelOverrides = Partial<Pick<ModelSpec, 'mean' | 'std'>>;

/**
 * The ResolvedModel for the ONNX file at `path`, processed as the registry entry `family`.
 * PermanentError `unknown_model` (naming the families) or `model_missing` (naming the path).
 */
export async function resolveLocalModel(
  path: string,
  family: string,
  overrides: LocalModelOverrides = {},
): Promise<ResolvedModel> {
  const spec = findModel(family);
  const absolute = resolve(path);
  const digest = await fileDigest(absolute);
  if (!digest) {
    throw new PermanentError(
      'model_missing',
      `Model file ${absolute} does not exist or is not a regular file; give the path of an ONNX file.`,
    );
  }
  return {
    spec: {
      ...spec,
      ...overrides,
      file: basename(absolute),
      sha256: digest.sha256,
      md5: '', // no published pin exists for a local file
      url: pathToFileURL(absolute).href,
      synthetic: undefined,
    },
    path: absolute,
    sha256: digest.sha256,
    source: 'weights',
  };
}
