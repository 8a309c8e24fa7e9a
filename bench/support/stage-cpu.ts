// bench:pipeline --profile: the CPU time (user + system, every thread of this process) of each step
// a worker takes for one image, one step at a time so nothing overlaps. CPU time says what a step
// costs the cores; the wall times of clearcut_worker_stage_seconds say more about what ran beside
// it. The model runs on the worker's session settings with spinning off (the default) and on, so
// its parallel efficiency (CPU ÷ threads × wall) and the gaps other work can fill are visible.
import sharp from 'sharp';
import type { Config } from '../../src/config.js';
import { decodeImage } from '../../src/images/decode.js';
import { normalizeForModel, resizeForModel } from '../../src/images/model-input.js';
import { encodeAs } from '../../src/inference/encode.js';
import { subjectBox } from '../../src/inference/geometry.js';
import { defaultOrtSettings, sessionSettings } from '../../src/inference/ort-settings.js';
import { pngEfforts } from '../../src/inference/png-encoding.js';
import { predictionToMask, resizeMask } from '../../src/inference/postprocess.js';
import { composeCutout } from '../../src/inference/render.js';
import { openModelSession } from '../../src/inference/session.js';
import { sessionModel } from '../../src/inference/session-model.js';
import { resolveModel } from '../../src/models/registry.js';
import type { Photo } from './photos.js';
import { median } from './results.js';

export interface StepCost {
  readonly step: string;
  /** Median over the repeats, milliseconds. */
  readonly cpuMs: number;
  readonly wallMs: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Median CPU and wall ms of each step over `photos` (the model: over `runs` runs per setting,
 * after a warm-up; every other step once per photo after one untimed pass, so the JIT is warm).
 */
export async function stageCpu(
  config: Config,
  model: string,
  threads: number,
  photos: readonly Photo[],
  runs = 4,
): Promise<StepCost[]> {
  const resolved = await resolveModel(config.models, model);
  const size = resolved.spec.inputSize;
  const samples = new Map<string, { cpu: number[]; wall: number[] }>();
  const step = async <T>(name: string, run: () => Promise<T> | T, record = true): Promise<T> => {
    const wall = performance.now();
    const cpu = cpuNow();
    const value = await run();
    if (record) {
      const sample = samples.get(name) ?? { cpu: [], wall: [] };
      sample.cpu.push(cpuNow() - cpu);
      sample.wall.push(performance.now() - wall);
      samples.set(name, sample);
    }
    return value;
  };
  for (const spinning of [false, true]) {
    const settings = sessionSettings(resolved.spec, { ...defaultOrtSettings, spinning });
    const session = await openModelSession(await sessionModel(resolved), { threads, ...settings });
    const output = session.outputs[resolved.spec.outputIndex]!.name;
    const dims = [1, 3, size, size];
    const input = () => new Float32Array(3 * size * size).fill(0.5);
    await session.run(input(), dims, output);
    for (let run = 0; run < runs; run++) {
      const data = input();
      await step(`model, ${threads} threads, spinning ${spinning ? 'on' : 'off'}`, () =>
        session.run(data, dims, output),
      );
    }
    await session.close();
  }
  // A product shot's prediction: an ellipse over ~half the frame with a soft rim, nothing outside.
  const prediction = Float32Array.from({ length: size * size }, (_, i) => {
    const d =
      ((i % size) / size - 0.5) ** 2 / 0.35 ** 2 + (Math.floor(i / size) / size - 0.5) ** 2 / 0.4 ** 2;
    return Math.min(1, Math.max(0, (1.05 - d) * 10));
  });
  const limits = { maxInputBytes: 1e9, maxInputPixels: 1e9, decodeTimeoutMs: 60_000 };
  for (const [index, photo] of [photos[0]!, ...photos].entries()) {
    const record = index > 0;
    const image = await step('decode', () => decodeImage(photo.bytes, limits), record);
    await step(
      'resize to the model and normalise',
      async () => normalizeForModel(await resizeForModel(image, size), size, resolved.spec),
      record,
    );
    const small = await step('prediction to 8-bit mask', () => predictionToMask(prediction, size), record);
    const mask = await step(
      'mask upscale to the source (Lanczos-3)',
      () => resizeMask(small, size, image.width, image.height),
      record,
    );
    const { rgba } = await step('compose the cutout', () => composeCutout(image, mask), record);
    await step('subject box', () => subjectBox(mask, image.width, image.height), record);
    const raw = { raw: { width: image.width, height: image.height, channels: 4 as const } };
    for (const effort of pngEfforts)
      await step(`PNG ${effort}`, () => encodeAs(sharp(rgba, raw), 'png', undefined, effort), record);
  }
  return [...samples].map(([step, { cpu, wall }]) => ({ step, cpuMs: median(cpu), wallMs: median(wall) }));
}
