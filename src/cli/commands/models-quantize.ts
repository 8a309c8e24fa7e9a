// `clearcut models quantize NAME|FILE`: our static int8 quantizer on a registry model or an ONNX file.
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { PermanentError, UsageError } from '../../errors.js';
import { hashFile } from '../../models/model-digest.js';
import {
  type Calibration,
  currentQuantized,
  generatedCalibration,
  type QuantizedManifest,
  quantizedPathFor,
  quantizeToFile,
  sameRecipe,
} from '../../models/model-quantized.js';
import { findVariant, type QuantizedSpec, variantOfModel } from '../../models/model-variants.js';
import { findModel, listModels, resolveModel } from '../../models/registry.js';
import { imagesInFolder, type ModelInputProfile } from '../../quantize/calibration-images.js';
import { decodeModel, modelInputSide } from '../../quantize/onnx-model.js';
import { keepFloatGroups } from '../../quantize/plan.js';
import type { QuantizeRecipe } from '../../quantize/quantize.js';
import { type CalibrationMethod, calibrationMethods } from '../../quantize/ranges.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo, Command } from '../io.js';
import { formatBytes } from '../progress.js';

export const quantizeUsage = `Usage: clearcut models quantize NAME|FILE [options]

Static int8 quantization (QDQ, for ONNX Runtime's QLinearConv/QLinearConcat/QLinearAdd kernels):
per-channel int8 weights, uint8 activations calibrated by running the fp32 model on images.

  NAME   a registry model (u2net, isnet-general-use, ...) or its variant (u2net-int8): builds
         the variant that \`--model NAME-int8\` loads, from the verified fp32 weights (or the
         synthetic stand-in), beside them as <model>-int8.onnx; skipped when already up to date
  FILE   an fp32 .onnx file: writes <FILE without .onnx>-int8.onnx beside it

Options:
  -o, --out FILE          write the int8 model here instead
      --calibration DIR   calibrate on the JPEG/PNG/WebP photos in DIR (8 to 32 like the ones you
                          will process); default: generated catalog-like images
      --images N          how many generated calibration images (default: the variant's, 16)
      --method M          ${calibrationMethods.join(' | ')}: how activation ranges are chosen
                          (default: the variant's, percentile)
      --percentile P      percentile method: share of values kept in range (default 99.99)
      --keep-float LIST   layers left in float, comma-separated: ${Object.keys(keepFloatGroups).join(', ')}, node
                          names (* matches any characters), or none (default: the variant's)
      --like NAME         FILE only: pre-process calibration images as registry model NAME
                          (default: isnet-general-use for 1024-px inputs, u2net otherwise)
      --threads N         ONNX Runtime threads (default: CLEARCUT_INFERENCE_THREADS or the cores)
      --force             build even when an up-to-date int8 file exists
  -h, --help`;

const options = {
  out: { type: 'string', short: 'o' },
  calibration: { type: 'string' },
  images: { type: 'string' },
  method: { type: 'string' },
  percentile: { type: 'string' },
  'keep-float': { type: 'string', multiple: true },
  like: { type: 'string' },
  threads: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

const command = 'models quantize';
const fail = (message: string): never => {
  throw new UsageError(`clearcut ${command}: ${message}`);
};

interface Target {
  readonly source: { readonly name: string; readonly path: string; readonly sha256: string };
  readonly profile: ModelInputProfile;
  readonly out: string;
  readonly variant?: QuantizedSpec;
  readonly synthetic: boolean;
}

export const quantize: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs(command, args, options);
  if (values.help) {
    io.out(quantizeUsage);
    return 0;
  }
  if (positionals.length !== 1) {
    fail(
      positionals.length === 0
        ? 'name a model or an .onnx file'
        : `expects one model, got ${positionals.length}`,
    );
  }
  if (values.calibration !== undefined && values.images !== undefined) {
    fail('--images counts generated images; it cannot go with --calibration DIR');
  }
  const config = loadConfig(io.env);
  const threads =
    values.threads === undefined ? config.inference.threads : whole('threads', values.threads, 1, 256);
  const target = await targetOf(positionals[0]!, values, config.models, threads, io);
  const recipe = recipeFrom(values, target.variant);
  if (target.variant && !values.force && values.calibration === undefined && values.images === undefined) {
    const current = await currentQuantized(target.out, target.source.sha256, recipe);
    if (current) {
      io.out(
        `${target.variant.name}: up to date (--force builds it again)\n  ${target.out}  ${formatBytes(current.size)}  sha256 ${current.sha256}`,
      );
      return 0;
    }
  }
  const calibration = await calibrationFrom(values, target.variant, config.inference);
  io.err(`calibrating on ${calibration.description}`);
  const started = performance.now();
  let manifest: QuantizedManifest;
  try {
    manifest = await quantizeToFile({
      source: target.source,
      out: target.out,
      profile: target.profile,
      recipe,
      calibration,
      custom: target.variant !== undefined && !sameRecipe(recipe, target.variant.recipe),
      threads,
      onProgress: (message) => io.err(`  ${message}`),
    });
  } catch (error) {
    // Names given to --keep-float are checked against the graph: a wrong one is a usage error.
    if (error instanceof PermanentError && error.code === 'keep_float_unmatched') fail(error.message);
    throw error;
  }
  io.out(summary(target, manifest, (performance.now() - started) / 1000));
  return 0;
};

async function targetOf(
  given: string,
  values: Values,
  models: ReturnType<typeof loadConfig>['models'],
  threads: number,
  io: CliIo,
): Promise<Target> {
  const registered = findVariant(given) ?? variantOfModel(given);
  if (registered) {
    if (values.like !== undefined)
      fail('--like applies to a FILE; a registry model has its own pre-processing');
    const base = await resolveModel(models, registered.base, { threads });
    const out =
      values.out === undefined ? quantizedPathFor(base.path) : await outputFile(values.out, base.path);
    if (base.source === 'synthetic') {
      io.err(
        `note: ${registered.base} weights are absent; quantizing its SYNTHETIC stand-in (meaningless masks)`,
      );
    }
    return {
      source: { name: registered.base, path: base.path, sha256: base.sha256 },
      profile: registered,
      out,
      ...(values.out === undefined ? { variant: registered } : {}),
      synthetic: base.source === 'synthetic',
    };
  }
  const path = resolve(given);
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isFile()) {
    const names = listModels().map((spec) => spec.name);
    fail(`"${given}" is neither a registry model (${names.join(', ')}, or NAME-int8) nor an .onnx file`);
  }
  const side = modelInputSide(decodeModel(await readFile(path), given));
  const profile = findModel(values.like ?? (side === 1024 ? 'isnet-general-use' : 'u2net'));
  if (side !== undefined && side !== profile.inputSize) {
    fail(
      `${given} takes ${side}×${side} inputs but --like ${profile.name} pre-processes to ${profile.inputSize}×${profile.inputSize}`,
    );
  }
  return {
    source: { name: basename(path), path, sha256: await hashFile(path) },
    profile,
    out: values.out === undefined ? quantizedPathFor(path) : await outputFile(values.out, path),
    synthetic: false,
  };
}

function recipeFrom(values: Values, variant: QuantizedSpec | undefined): QuantizeRecipe {
  const defaults = variant?.recipe ?? variantOfModel('u2net')!.recipe;
  const method = values.method ?? defaults.method;
  if (!calibrationMethods.includes(method as CalibrationMethod)) {
    fail(`--method "${method}" is not one of ${calibrationMethods.join(', ')}`);
  }
  if (values.percentile !== undefined && method !== 'percentile') {
    fail(`--percentile applies to --method percentile, not ${method}`);
  }
  const percentile = values.percentile === undefined ? defaults.percentile : Number(values.percentile);
  if (!(percentile >= 90 && percentile < 100)) {
    fail(`--percentile "${values.percentile}" is not a number from 90 up to (not including) 100, e.g. 99.99`);
  }
  const listed = values['keep-float']?.flatMap((entry) => entry.split(',')).map((entry) => entry.trim());
  if (listed?.some((entry) => entry === ''))
    fail('--keep-float has an empty entry; separate names with single commas');
  const keepFloat = listed === undefined ? defaults.keepFloat : listed.filter((entry) => entry !== 'none');
  return { method: method as CalibrationMethod, percentile, keepFloat };
}

async function calibrationFrom(
  values: Values,
  variant: QuantizedSpec | undefined,
  limits: ReturnType<typeof loadConfig>['inference'],
): Promise<Calibration> {
  if (values.calibration !== undefined) {
    const dir = resolve(values.calibration);
    const stats = await stat(dir).catch(() => undefined);
    if (!stats?.isDirectory()) fail(`--calibration ${values.calibration} is not a folder`);
    const images = await imagesInFolder(dir, limits);
    return { images, description: `${images.length} images from ${dir}` };
  }
  const count =
    values.images === undefined
      ? (variant?.recipe.calibrationImages ?? 16)
      : whole('images', values.images, 1, 256);
  return generatedCalibration(count);
}

async function outputFile(out: string, source: string): Promise<string> {
  const path = resolve(out);
  if (path === source) fail(`--out ${out} is the fp32 model itself; give another file`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) fail(`--out ${out} is a folder; give a file path`);
  return path;
}

function whole(name: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    fail(`--${name} "${text}" is not a whole number from ${min} to ${max}`);
  return value;
}

/** The int8 kernels first, then the float convolutions left. */
function kernelSummary(kernels: Readonly<Record<string, number>>): string {
  const shown = ['QLinearConv', 'QLinearConcat', 'QLinearAdd', 'Conv', 'FusedConv'];
  return shown
    .filter((type) => kernels[type])
    .map((type) => `${kernels[type]} ${type.startsWith('QLinear') ? type : `float ${type}`}`)
    .join(', ');
}

function summary(target: Target, manifest: QuantizedManifest, seconds: number): string {
  const { report, recipe } = manifest;
  const nodes = Object.entries(report.quantizedNodes)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  const method = recipe.method === 'percentile' ? `percentile ${recipe.percentile}` : recipe.method;
  const kept =
    recipe.keepFloat.length === 0
      ? 'nothing'
      : `${recipe.keepFloat.join(', ')} (${report.keptFloat.length} nodes)`;
  const lines = [
    `${target.variant?.name ?? basename(target.out)}: written in ${seconds.toFixed(1)} s`,
    `  ${target.out}  ${formatBytes(manifest.size)}  sha256 ${manifest.sha256}`,
    `  from ${target.source.name} (${target.source.path}, sha256 ${target.source.sha256})`,
    `  method ${method}; kept in float: ${kept}; calibrated on ${manifest.calibration}`,
    `  quantized: ${nodes}; ${report.activationPairs} activation Q/DQ pairs`,
    `  ONNX Runtime runs: ${kernelSummary(manifest.kernels)}`,
  ];
  if (report.clippedBiases > 0)
    lines.push(`  warning: ${report.clippedBiases} conv biases exceeded int32 and were clipped`);
  if (target.synthetic) lines.push('  Synthetic stand-in: real U²-Net cost, meaningless masks.');
  return lines.join('\n');
}
