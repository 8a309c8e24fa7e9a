import { readFile, stat } from 'node:fs/promises';
import { type Config, loadConfig } from '../../config.js';
import { parseColour } from '../../contracts/backgrounds.js';
import { describeIssues } from '../../contracts/issues.js';
import { renditionExtension } from '../../contracts/output-keys.js';
import {
  backgroundImages,
  parseRenditionShorthand,
  type Rendition,
  type RenditionInput,
  renditionFormats,
  renditionKinds,
  renditionListSchema,
  renditionOutputs,
  renditionSchema,
} from '../../contracts/renditions.js';
import { errorMessage, PermanentError, UsageError } from '../../errors.js';
import { checkInputSize } from '../../images/decode.js';
import {
  findLocalImages,
  type LocalSource,
  localOutputPath,
  writeFileAtomically,
} from '../../images/local-files.js';
import { createEngine, type Engine } from '../../inference/engine.js';
import { removeBackground } from '../../inference/remove.js';
import { findVariant, variantBuildHint } from '../../models/model-variants.js';
import { findModel, type ResolvedModel, resolveModel } from '../../models/registry.js';
import { parseCommandArgs, requireOption } from '../args.js';
import type { CliIo, Command } from '../io.js';
import { createProgress } from '../progress.js';

const usage = `Usage: clearcut remove <files or folders...> --out DIR [options]

Cuts the background out of JPEG, PNG and WebP images, like rembg's i/p commands. Folders are walked
recursively; files that are not images are skipped with a note. Outputs are named
DIR/<path under the folder, without extension>.<rendition or its name>[.<size>].<ext>, and each is
written under a temporary name and renamed, so an interrupted run never leaves half a file.

Options:
  -o, --out DIR          where outputs go (created when missing)                       [required]
  -m, --model NAME       model from \`clearcut models list\` (default: CLEARCUT_MODEL)
  -r, --rendition LIST   kind[:format],... from cutout, mask, white, crop, background (default: cutout,
                           or background with --background, or none with only --rendition-json)
                           cutout      RGBA with the mask as alpha           png (default), webp
                           mask        8-bit grayscale mask                  png
                           white       flattened on pure white               jpeg (default), png, webp
                           crop        cutout trimmed to the subject + margin png (default), webp
                           background  on --background (default #FFFFFF)     png (default), jpeg, webp
      --rendition-json J one rendition as a job gives it (docs/inference.md), e.g.
                           '{"kind":"background","name":"grey","format":"jpeg","background":"#F5F5F5"}';
                           repeatable; after the --rendition list; the flags below do not change it
  -f, --format FORMAT    png, webp or jpeg for every listed rendition without its own :format
  -q, --quality N        1-100, for webp and jpeg outputs
      --max-size PX      scale outputs down so their longer side is at most PX
      --sizes PX,PX,...  one output per size, each scaled down like --max-size (file name .<size>.)
      --background COLOR background: "#RRGGBB", "#RGB", with alpha "#RRGGBBAA"/"#RGBA", or transparent
      --threshold N      mask clean-up: alpha >= N becomes 255, the rest 0 (a hard mask), N 1-255
      --remove-islands N mask clean-up: remove subject regions of fewer than N pixels
      --fill-holes       mask clean-up: fill background regions enclosed by the subject
      --square           white: square canvas with the subject centred (marketplace main image)
      --fill SHARE       white --square: share of the side the subject's longer side fills (default 0.85)
      --min-side PX      white --square: smallest canvas side, enlarging when needed (default 1600)
      --margin PX|P%     crop: margin around the subject's box, in px or % of its longer side (default 0)
      --refine edges     re-solve alpha around the mask's edge at full resolution (hair, fur, spokes)
      --decontaminate    estimate the subject's own colour where alpha is partial (no halo of the
                           old background); applies to every rendition but mask
      --threads N        ONNX Runtime threads (default: CLEARCUT_INFERENCE_THREADS or the core count)
      --skip-existing    leave sources whose outputs all exist alone (resumes a long run)
      --allow-synthetic  without the model's weights, use its synthetic stand-in (meaningless masks,
                           to try the command only); without this flag that is an error
  -h, --help

Exit status: 0 when every image was processed, 1 when any failed, 2 for a wrong command line.`;

const options = {
  out: { type: 'string', short: 'o' },
  model: { type: 'string', short: 'm' },
  rendition: { type: 'string', short: 'r' },
  format: { type: 'string', short: 'f' },
  quality: { type: 'string', short: 'q' },
  'max-size': { type: 'string' },
  sizes: { type: 'string' },
  background: { type: 'string' },
  threshold: { type: 'string' },
  'remove-islands': { type: 'string' },
  'fill-holes': { type: 'boolean' },
  'rendition-json': { type: 'string', multiple: true },
  square: { type: 'boolean' },
  fill: { type: 'string' },
  'min-side': { type: 'string' },
  margin: { type: 'string' },
  refine: { type: 'string' },
  decontaminate: { type: 'boolean' },
  threads: { type: 'string' },
  'skip-existing': { type: 'boolean' },
  'allow-synthetic': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

/** Images in flight at once: one in the model while the other decodes, encodes or is written. */
const pipelineDepth = 2;

interface Failure {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

interface Job {
  readonly source: LocalSource;
  /** Output path per output, in the order of renditionOutputs (a rendition's sizes in turn). */
  readonly outputs: readonly string[];
}

export const run: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('remove', args, options);
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (positionals.length === 0) fail('name at least one image file or folder');
  const out = requireOption('remove', 'out', values.out);
  await requireFolderOrNothing(out);
  const renditions = renditionsFrom(values);
  const config = loadConfig(io.env);
  const threads =
    values.threads === undefined ? config.inference.threads : whole('threads', values.threads, 1, 256);

  const found = await findLocalImages(positionals, out);
  for (const { path, reason } of found.skipped) io.err(`skipped ${path}: ${reason}`);
  const failures: Failure[] = found.missing.map(({ path, reason }) => ({
    path,
    code: 'not_found',
    message: reason,
  }));
  const jobs = planOutputs(found.sources, out, renditions, failures);
  const todo = values['skip-existing'] ? await withoutFinished(jobs) : jobs;
  // a path that is missing is already its own failure: "no images" names the paths that exist
  const present = positionals.filter((path) => !found.missing.some((note) => note.path === path));
  if (found.sources.length === 0 && present.length > 0) {
    failures.push({
      path: present.join(' '),
      code: 'no_images',
      message: 'no JPEG, PNG or WebP images found',
    });
  }

  const started = performance.now();
  let tally = { succeeded: 0, written: 0 };
  if (todo.length > 0) {
    const model = await modelFor(config, values.model, values['allow-synthetic'] === true);
    if (model.source === 'synthetic') io.err(syntheticNotice(model));
    const engine = await createEngine(model, { threads });
    try {
      tally = await processAll(engine, todo, renditions, config, io, failures);
    } finally {
      await engine.close();
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const parts = [
    `${tally.succeeded} of ${count(found.sources.length, 'image')} done (${count(tally.written, 'file')} written to ${out}) in ${seconds} s`,
  ];
  if (jobs.length > todo.length) parts.push(`${jobs.length - todo.length} already done before`);
  if (found.skipped.length > 0) parts.push(`${count(found.skipped.length, 'file')} skipped`);
  if (failures.length > 0) parts.push(`${failures.length} failed`);
  io.out(parts.join('; '));
  if (failures.length === 0) return 0;
  io.err(
    `Failed:\n${failures.map(({ path, code, message }) => `  ${path}: ${code}: ${message}`).join('\n')}`,
  );
  return 1;
};

async function processAll(
  engine: Engine,
  jobs: readonly Job[],
  renditions: readonly Rendition[],
  config: Config,
  io: CliIo,
  failures: Failure[],
): Promise<{ succeeded: number; written: number }> {
  const progress =
    jobs.length > 1 ? createProgress(io, { label: 'Removing backgrounds', total: jobs.length }) : undefined;
  const queue = [...jobs];
  let finished = 0;
  let succeeded = 0;
  let written = 0;
  const lane = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      try {
        checkInputSize((await stat(job.source.path)).size, config.inference);
        const result = await removeBackground(
          engine,
          await readFile(job.source.path),
          renditions,
          config.inference,
        );
        for (const [index, output] of result.outputs.entries()) {
          await writeFileAtomically(job.outputs[index]!, output.bytes);
          written++;
        }
        succeeded++;
      } catch (error) {
        const code = error instanceof PermanentError ? error.code : 'error';
        failures.push({ path: job.source.path, code, message: errorMessage(error) });
      }
      progress?.update(++finished);
    }
  };
  await Promise.all(Array.from({ length: pipelineDepth }, lane));
  progress?.finish();
  return { succeeded, written };
}

/** Each source's output paths; a source whose outputs another one already claims fails instead. */
function planOutputs(
  sources: readonly LocalSource[],
  out: string,
  renditions: readonly Rendition[],
  failures: Failure[],
): Job[] {
  const owners = new Map<string, string>();
  const jobs: Job[] = [];
  for (const source of sources) {
    const outputs = renditionOutputs(renditions).map(({ rendition, size }) =>
      localOutputPath(
        out,
        source.stem,
        (rendition.name ?? rendition.kind) + (size === undefined ? '' : `.${size}`),
        renditionExtension(rendition),
      ),
    );
    const taken = outputs.find((path) => owners.has(path));
    if (taken) {
      failures.push({
        path: source.path,
        code: 'output_collision',
        message: `its output ${taken} would overwrite the output of ${owners.get(taken)}; rename one of them`,
      });
      continue;
    }
    for (const path of outputs) owners.set(path, source.path);
    jobs.push({ source, outputs });
  }
  return jobs;
}

async function withoutFinished(jobs: readonly Job[]): Promise<Job[]> {
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  const finished = await Promise.all(
    jobs.map(async (job) => (await Promise.all(job.outputs.map(exists))).every(Boolean)),
  );
  return jobs.filter((_, index) => !finished[index]);
}

async function modelFor(
  config: Config,
  name: string | undefined,
  allowSynthetic: boolean,
): Promise<ResolvedModel> {
  const chosen = name ?? config.models.defaultModel;
  try {
    return await resolveModel(config.models, chosen, { allowSynthetic });
  } catch (error) {
    if (error instanceof PermanentError && error.code === 'unknown_model') fail(`--model: ${error.message}`);
    const standIn = findModel(findVariant(chosen)?.base ?? chosen).synthetic;
    if (error instanceof PermanentError && error.code === 'model_missing' && standIn && !allowSynthetic)
      throw new PermanentError(
        error.code,
        `${error.message} To try the command without weights, --allow-synthetic uses the synthetic stand-in.`,
        { cause: error },
      );
    throw error;
  }
}

function syntheticNotice({ spec, path }: ResolvedModel): string {
  // An int8 variant is never pulled: its base is, and the variant is then built from it.
  const variant = findVariant(spec.name);
  const pulled = variant?.base ?? spec.name;
  const quantized = variant ? `, quantized to int8` : '';
  return [
    `Note: the ${pulled} weights are not installed, so this run uses a SYNTHETIC ${spec.synthetic} model${quantized}:`,
    'the real network with random weights, whose masks are meaningless. Use it to try the pipeline only.',
    `For real cutouts run \`clearcut models pull ${pulled}\`${variant ? `; ${variantBuildHint(variant)}` : '.'} (Model file: ${path})`,
  ].join('\n');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function renditionsFrom(values: Values): Rendition[] {
  const given = (values['rendition-json'] ?? []).map(renditionFromJson);
  // Without --rendition: a background with --background, else a cutout unless --rendition-json gives some.
  const fallback = values.background !== undefined ? 'background' : given.length > 0 ? undefined : 'cutout';
  const list = values.rendition ?? fallback;
  let items: { kind: string; format?: string }[] = [];
  try {
    if (list !== undefined) items = parseRenditionShorthand(list);
  } catch (error) {
    fail(`--rendition ${errorMessage(error)}`);
  }
  const flag = listFlags.find((name) => values[name] !== undefined);
  if (items.length === 0 && flag)
    fail(`--${flag} applies to the --rendition list; put it in the --rendition-json object instead`);
  const kinds = new Set(items.map((item) => item.kind));
  const unknown = items.find((item) => !(renditionKinds as string[]).includes(item.kind));
  if (unknown) fail(`--rendition: unknown rendition "${unknown.kind}" (kinds: ${renditionKinds.join(', ')})`);
  for (const flag of ['square', 'fill', 'min-side'] as const) {
    if (values[flag] !== undefined && !kinds.has('white'))
      fail(`--${flag} applies to the white rendition; add it with --rendition white`);
  }
  if (values.margin !== undefined && !kinds.has('crop'))
    fail('--margin applies to the crop rendition; add it with --rendition crop');
  if (values.background !== undefined && !kinds.has('background'))
    fail('--background applies to the background rendition; add it with --rendition background');
  if (values.background !== undefined && !parseColour(values.background))
    fail(
      `--background takes a colour "#RRGGBB", "#RGB", "#RRGGBBAA" or "#RGBA", or transparent, not "${values.background.slice(0, 40)}"`,
    );
  if (values.sizes !== undefined && values['max-size'] !== undefined)
    fail('give --sizes or --max-size, not both (each size is a max size)');
  if (values.decontaminate && [...kinds].every((kind) => kind === 'mask'))
    fail('--decontaminate applies to renditions with colours (cutout, white, crop); a mask has none');
  const quality = values.quality === undefined ? undefined : whole('quality', values.quality, 1, 100);
  const maxSize =
    values['max-size'] === undefined ? undefined : whole('max-size', values['max-size'], 16, 16_384);
  const sizes = values.sizes?.split(',').map((size) => whole('sizes', size.trim(), 16, 16_384));
  const cleanup = cleanupOf(values);
  const inputs = items.map(({ kind, format: own }) => {
    const allowed: readonly string[] = renditionFormats[kind as keyof typeof renditionFormats];
    const format = own ?? (values.format !== undefined && kind !== 'mask' ? values.format : undefined);
    if (format !== undefined && !allowed.includes(format)) {
      fail(
        own === undefined
          ? `--format ${format} does not apply to ${kind}, which can be ${allowed.join(' or ')}; give it its own, e.g. --rendition ${kind}:${allowed[0]}`
          : `--rendition ${kind}:${format}: ${kind} can be ${allowed.join(' or ')}`,
      );
    }
    return {
      kind,
      ...(format !== undefined && { format }),
      ...(maxSize !== undefined && { maxSize }),
      ...(sizes !== undefined && { sizes }),
      ...(cleanup !== undefined && { cleanup }),
      ...(kind === 'background' && values.background !== undefined && { background: values.background }),
      ...(quality !== undefined && kind !== 'mask' && { quality }),
      ...(kind === 'white' && whiteOptions(values)),
      ...(kind === 'crop' && values.margin !== undefined && { margin: margin(values.margin) }),
      ...(values.refine !== undefined && { refine: refineMode(values.refine) }),
      ...(values.decontaminate && kind !== 'mask' && { decontaminate: true }),
    };
  });
  const parsed = renditionListSchema.safeParse([...inputs, ...given]);
  if (!parsed.success) fail(`--rendition: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  if (backgroundImages(parsed.data).length > 0)
    fail('--rendition-json: an image background ("s3://...") needs S3; clearcut remove takes colours only');
  return parsed.data;
}

/** `--out` may be missing (it is created) or a folder; a file there is a wrong command line. */
async function requireFolderOrNothing(out: string): Promise<void> {
  const found = await stat(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    fail(`--out ${out}: ${errorMessage(error)}`);
  });
  if (found && !found.isDirectory())
    fail(`--out ${out} is a file; name a folder (it is created when missing)`);
}

/** The flags that shape the --rendition list's renditions (never a --rendition-json one). */
const listFlags = [
  'format',
  'quality',
  'max-size',
  'sizes',
  'background',
  'threshold',
  'remove-islands',
  'fill-holes',
  'square',
  'fill',
  'min-side',
  'margin',
  'refine',
  'decontaminate',
] as const;

/** One --rendition-json value, checked by the job contract's rendition schema. */
function renditionFromJson(text: string): RenditionInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(`--rendition-json is not JSON: ${errorMessage(error)}`);
  }
  const parsed = renditionSchema.safeParse(value);
  if (!parsed.success) fail(`--rendition-json ${describeIssues(parsed.error.issues).join('; ')}`);
  return parsed.data;
}

function cleanupOf(values: Values) {
  const threshold = values.threshold === undefined ? undefined : whole('threshold', values.threshold, 1, 255);
  const islands =
    values['remove-islands'] === undefined
      ? undefined
      : whole('remove-islands', values['remove-islands'], 1, 100_000_000);
  if (threshold === undefined && islands === undefined && !values['fill-holes']) return undefined;
  return {
    ...(threshold !== undefined && { threshold }),
    ...(islands !== undefined && { removeIslands: islands }),
    ...(values['fill-holes'] && { fillHoles: true }),
  };
}

function refineMode(text: string): 'edges' {
  if (text !== 'edges') fail(`--refine takes "edges", not "${text}"`);
  return text;
}

function whiteOptions(values: Values) {
  return {
    ...(values.square && { square: true }),
    ...(values.fill !== undefined && { fill: share('fill', values.fill) }),
    ...(values['min-side'] !== undefined && { minSide: whole('min-side', values['min-side'], 16, 16_384) }),
  };
}

function whole(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    fail(`--${flag} must be a whole number from ${min} to ${max}, not "${text}"`);
  return value;
}

function share(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || value < 0.1 || value > 1)
    fail(`--${flag} must be a number from 0.1 to 1, not "${text}"`);
  return value;
}

function margin(text: string): number | string {
  if (/^\d{1,2}(\.\d+)?%$/.test(text)) return text;
  if (/^\d+$/.test(text) && Number(text) <= 4096) return Number(text);
  return fail(`--margin must be whole pixels (0-4096) or a percentage below 100 such as 10%, not "${text}"`);
}

function fail(message: string): never {
  throw new UsageError(`clearcut remove: ${message} (see \`clearcut remove --help\`)`);
}
