// `clearcut models import FILE [--as NAME] [--custom]`: weights for sites without internet.
import { loadConfig } from '../../config.js';
import { PermanentError, UsageError } from '../../errors.js';
import { createEngine } from '../../inference/engine.js';
import { resolveLocalModel } from '../../models/local-model.js';
import { importModel } from '../../models/model-import.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../io.js';
import { formatBytes } from '../progress.js';

const usage = `Usage: clearcut models import FILE [--as NAME] [--custom]

Copies a local ONNX file into CLEARCUT_MODEL_DIR as a registry model (temp file + rename), for
machines that cannot download: \`clearcut models pull\` fetches the same files.

  FILE            the .onnx file, e.g. u2net.onnx copied from a machine that is online
  --as NAME       the registry model to install it as (default: the one whose sha256 it has)
  --custom        install a file that is NOT the published one (fine-tuned, converted) as NAME's
                  weights: its graph is loaded and checked against NAME's inputs and outputs, and it
                  is recorded as unverified (\`clearcut models list\` shows "custom (unverified)")
  -h, --help`;

export const importFile: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('models import', args, {
    as: { type: 'string' },
    custom: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0)
    throw new UsageError(`clearcut models import: give exactly one ONNX file\n\n${usage}`);
  const config = loadConfig(io.env);
  try {
    const imported = await importModel(config.models, {
      file,
      ...(values.as === undefined ? {} : { as: values.as }),
      custom: values.custom === true,
      checkFamily: async (path, family) => {
        const engine = await createEngine(await resolveLocalModel(path, family.name), { threads: 1 });
        await engine.close();
      },
    });
    const what = imported.verified
      ? 'sha256 verified'
      : 'custom file, checked against the family, UNVERIFIED';
    io.out(
      `${imported.spec.name}: imported (${what})\n  ${imported.path}  ${formatBytes(imported.size)}  sha256 ${imported.sha256}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof PermanentError && error.code === 'unknown_model')
      throw new UsageError(`clearcut models import: --as: ${error.message}`);
    throw error;
  }
};
