import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelSpec } from '../../../models/model-spec.js';
import { type Topology, topologies } from '../../../models/synth/index.js';
import { loadConfig } from '../../config.js';
import { UsageError } from '../../errors.js';
import { pullModel } from '../../models/model-download.js';
import { modelStatuses, syntheticEntries } from '../../models/model-status.js';
import { buildSyntheticFile, defaultSyntheticSeed, syntheticFileName } from '../../models/model-synthetic.js';
import { listModels, syntheticDir } from '../../models/registry.js';
import { parseCommandArgs } from '../args.js';
import { formatTable } from '../format.js';
import type { CliIo, Command } from '../io.js';
import { createProgress, formatBytes } from '../progress.js';
import { importFile } from './models-import.js';
import { quantize } from './models-quantize.js';

const usage = `Usage: clearcut models <list | pull NAME | import FILE | synth u2net|u2netp | quantize NAME|FILE> [options]

  list [--json]                          each model: file present? checksum verified? size; and the
                                         synthetic stand-ins built so far
  pull NAME [--force]                    download NAME from its source URL, verify its sha256 and move
                                         it into CLEARCUT_MODEL_DIR; --force downloads a verified copy again
  import FILE [--as NAME] [--custom]     copy a local ONNX file into CLEARCUT_MODEL_DIR (offline sites): the
                                         published file of NAME, recognised by its sha256; with --custom,
                                         another file of the NAME family, checked and marked unverified
  synth u2net|u2netp [--seed N] [--out FILE]
                                         write a synthetic U²-Net (real topology, seeded random weights);
                                         default FILE: <model dir>/synthetic/<topology>-seed<N>.onnx
  quantize NAME|FILE [options]           build the static int8 variant (NAME-int8) of a model or an
                                         fp32 .onnx file; \`clearcut models quantize --help\` for options

Models: ${listModels()
  .map((spec) => spec.name)
  .join(', ')}`;

export const run: Command = async (args, io) => {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    io.out(usage);
    return subcommand === undefined ? 2 : 0;
  }
  const subcommands: Record<string, Command> = { list, pull, import: importFile, synth, quantize };
  const handler = subcommands[subcommand];
  if (!handler || !Object.hasOwn(subcommands, subcommand)) {
    throw new UsageError(
      `clearcut models: unknown subcommand "${subcommand}" (expected list, pull, import, synth or quantize)\n\n${usage}`,
    );
  }
  return handler(rest, io);
};

const list: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('models list', args, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help(io);
  noPositionals('models list', positionals);
  const config = loadConfig(io.env).models;
  const statuses = await modelStatuses(config);
  const synthetic = await syntheticEntries(config);
  if (values.json) {
    const models = statuses.map(({ spec, path, size, verified, custom }) => ({
      name: spec.name,
      path,
      present: size !== undefined,
      verified: verified ?? false,
      custom: custom ?? false,
      size: size ?? null,
      inputSize: spec.inputSize,
      synthetic: spec.synthetic ?? null,
    }));
    io.out(JSON.stringify({ dir: resolve(config.dir), models, synthetic }, null, 2));
    return 0;
  }
  const rows = statuses.map(({ spec, size, verified, custom }) => [
    spec.name,
    String(spec.inputSize),
    size === undefined
      ? 'missing'
      : verified
        ? 'verified'
        : custom
          ? 'custom (unverified)'
          : 'CHECKSUM MISMATCH',
    size === undefined ? '-' : formatBytes(size),
    spec.synthetic ? `synthetic ${spec.synthetic}` : 'none: pull it',
  ]);
  io.out(`Model directory: ${resolve(config.dir)}\n`);
  io.out(formatTable(['model', 'input', 'weights', 'size', 'stand-in when missing'], rows));
  io.out(`\nSynthetic stand-ins in ${syntheticDir(config)}:`);
  if (synthetic.length === 0) io.out('  none yet (built on first use, or by `clearcut models synth`)');
  for (const entry of synthetic) io.out(`  ${entry.file}  ${formatBytes(entry.size)}`);
  if (statuses.some((status) => status.verified === false && !status.custom)) {
    io.out(
      '\nA CHECKSUM MISMATCH file is not the published model: `clearcut models pull NAME --force` replaces it.',
    );
  }
  return 0;
};

const pull: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('models pull', args, {
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help(io);
  const spec = modelNamed(exactlyOne('models pull', 'a model name', positionals));
  const config = loadConfig(io.env).models;
  let progress: ReturnType<typeof createProgress> | undefined;
  const result = await pullModel(config, spec, {
    force: values.force,
    onProgress: (received, total) => {
      progress ??= createProgress(io, { label: spec.file, total, format: formatBytes });
      progress.update(received);
    },
  });
  progress?.finish('sha256 verified');
  const what = result.downloaded
    ? 'downloaded and verified'
    : 'already present and verified (--force downloads it again)';
  io.out(`${spec.name}: ${what}\n  ${result.path}  ${formatBytes(result.size)}  sha256 ${result.sha256}`);
  return 0;
};

const synth: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('models synth', args, {
    seed: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return help(io);
  const topology = topologyNamed(exactlyOne('models synth', 'a topology (u2net or u2netp)', positionals));
  const seed = values.seed === undefined ? defaultSyntheticSeed : parseSeed(values.seed);
  const path =
    values.out === undefined
      ? join(syntheticDir(loadConfig(io.env).models), syntheticFileName(topology, seed))
      : await outputFile(values.out);
  const started = Date.now();
  const digest = await buildSyntheticFile(topology, seed, path);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  io.out(
    `${topology} (seed ${seed}) written in ${seconds} s\n  ${path}  ${formatBytes(digest.size)}  sha256 ${digest.sha256}`,
  );
  io.out('  Real U²-Net topology and cost with random weights: its masks mean nothing.');
  return 0;
};

function help(io: CliIo): number {
  io.out(usage);
  return 0;
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0)
    throw new UsageError(`clearcut ${command}: unexpected argument "${positionals[0]}"`);
}

function exactlyOne(command: string, what: string, positionals: string[]): string {
  if (positionals.length === 0) throw new UsageError(`clearcut ${command}: expects ${what}\n\n${usage}`);
  if (positionals.length > 1) {
    throw new UsageError(
      `clearcut ${command}: expects only ${what}, got also "${positionals.slice(1).join('", "')}"`,
    );
  }
  return positionals[0]!;
}

function modelNamed(name: string): ModelSpec {
  const spec = listModels().find((candidate) => candidate.name === name);
  if (spec) return spec;
  const names = listModels().map((candidate) => candidate.name);
  throw new UsageError(`clearcut models pull: unknown model "${name}" (expected one of ${names.join(', ')})`);
}

function topologyNamed(name: string): Topology {
  const topology = topologies.find((candidate) => candidate === name);
  if (topology) return topology;
  throw new UsageError(`clearcut models synth: unknown topology "${name}" (expected u2net or u2netp)`);
}

function parseSeed(text: string): number {
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(seed <= 0xffffffff)) {
    throw new UsageError(
      `clearcut models synth: --seed "${text}" is not a whole number from 0 to 4294967295`,
    );
  }
  return seed;
}

async function outputFile(out: string): Promise<string> {
  const path = resolve(out);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory())
    throw new UsageError(`clearcut models synth: --out ${out} is a directory; give a file path`);
  return path;
}
