// `clearcut models import`: installs a local ONNX file as a registry model, for machines without
// internet. A published file is recognised by its sha256; any other file of a model family (fine-
// tuned, converted) is installed only on purpose (`custom`), after its graph is checked against the
// family, and recorded as unverified so that resolveModel accepts that exact file and no other. A
// synthetic stand-in is refused as custom, or its meaningless masks would be served as real.
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { ModelSpec } from '../../models/model-spec.js';
import { registry } from '../../models/registry.js';
import { PermanentError, UsageError } from '../errors.js';
import { writeCustomRecord } from './custom-record.js';
import { fileDigest } from './model-digest.js';
import { writeFileAtomically } from './model-file-writer.js';
import { findModel, type ModelsConfig, weightsPath } from './registry.js';
import { isSyntheticModelFile } from './synthetic-marker.js';

export interface ImportRequest {
  readonly file: string;
  /** The registry model to install it as; without it, the one whose published sha256 it has. */
  readonly as?: string;
  /** Not the published file: check it fits the family, install it as unverified. */
  readonly custom?: boolean;
  /** Throws unless the ONNX file at `path` takes and gives what `family` does (an engine load). */
  readonly checkFamily: (path: string, family: ModelSpec) => Promise<void>;
}

export interface ImportedModel {
  readonly spec: ModelSpec;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly verified: boolean;
}

/** `published`: the registry (tests pass a stand-in whose pinned sha256 they can produce). */
export async function importModel(
  config: ModelsConfig,
  request: ImportRequest,
  published: readonly ModelSpec[] = registry,
): Promise<ImportedModel> {
  const source = resolve(request.file);
  const digest = await fileDigest(source);
  if (!digest) throw new UsageError(`${source} does not exist or is not a regular file.`);
  const known = published.find((spec) => spec.sha256 === digest.sha256);
  if (request.custom && request.as === undefined)
    throw new UsageError('--custom needs --as NAME: the model family whose pre-processing the file uses.');
  const spec =
    request.as === undefined
      ? known
      : (published.find((candidate) => candidate.name === request.as) ?? findModel(request.as));
  if (!spec) {
    throw new PermanentError(
      'model_checksum_mismatch',
      `${source} (sha256 ${digest.sha256}) is none of the published models. For a fine-tuned or ` +
        'converted file, say which family it belongs to: --as NAME --custom.',
    );
  }
  const verified = digest.sha256 === spec.sha256;
  if (!verified && !request.custom) {
    throw new PermanentError(
      'model_checksum_mismatch',
      `${source} is not the published ${spec.name} model (sha256 ${digest.sha256}, expected ${spec.sha256})` +
        `${known ? `; it is the published ${known.name}: --as ${known.name}` : ''}. ` +
        `To install another file of the ${spec.name} family on purpose, add --custom.`,
    );
  }
  if (!verified) {
    // The family check first: it names what is wrong with a file that is no ONNX model at all.
    await request.checkFamily(source, spec);
    if (await isSyntheticModelFile(source)) {
      throw new PermanentError(
        'model_invalid',
        `${source} is a ClearCut synthetic stand-in (seeded random weights, meaningless masks), not a ` +
          `model: it cannot be installed as ${spec.name}. Import the real weights, or let tests and ` +
          'demos use the stand-in with CLEARCUT_ALLOW_SYNTHETIC_MODELS=true.',
      );
    }
  }
  const target = weightsPath(config, spec);
  // Recorded before the copy lands, so no reader sees the new file without it; the record names
  // one sha256 and vouches for nothing else.
  await writeCustomRecord(
    target,
    verified
      ? undefined
      : {
          family: spec.name,
          sha256: digest.sha256,
          size: digest.size,
          importedFrom: source,
          importedAt: new Date().toISOString(),
        },
  );
  const copied = await writeFileAtomically(
    target,
    async (sink) => {
      for await (const chunk of createReadStream(source)) await sink(chunk as Buffer);
    },
    {
      check: ({ sha256 }) => {
        if (sha256 !== digest.sha256)
          throw new PermanentError('model_checksum_mismatch', `${source} changed while it was copied.`);
      },
    },
  );
  return { spec, path: target, sha256: copied.sha256, size: copied.size, verified };
}
