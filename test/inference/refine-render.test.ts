// Renditions with refine and decontaminate, through the renderer the worker and `clearcut remove`
// use, and through the library on the synthetic U²-Netp: alpha changes only in the band, colours
// only where alpha is partial, and renditions without the options keep the model's mask.
import { describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { edgeBand } from '../../src/inference/refine/band.js';
import { renderRenditions } from '../../src/inference/render.js';
import { removeBackground } from '../../src/library/index.js';
import { decoded, pixelsOf, rectangleScene } from '../support/images.js';
import { syntheticModel, testModelDir } from '../support/models.js';

// A 200×120 scene: a red 80×50 subject on blue; the "model" blurred its edge over about 6 px.
const scene = rectangleScene({
  width: 200,
  height: 120,
  subject: { left: 60, top: 35, width: 80, height: 50 },
  background: [30, 160, 220],
  foreground: [200, 40, 40],
});
const mask = new Uint8Array(scene.width * scene.height);
for (let y = 0; y < scene.height; y++) {
  for (let x = 0; x < scene.width; x++) {
    // signed distance to the subject's border (60–139 × 35–84), from the pixel centre
    const outside = Math.max(59.5 - x, x - 139.5, 34.5 - y, y - 84.5, 0);
    const inside = Math.min(x - 59.5, 139.5 - x, y - 34.5, 84.5 - y);
    mask[y * scene.width + x] = Math.max(
      0,
      Math.min(255, Math.round(128 + (outside > 0 ? -outside : inside) * 40)),
    );
  }
}

async function alphaOf(bytes: Buffer): Promise<Buffer> {
  const { data, channels } = await pixelsOf(bytes);
  return Buffer.from(data.filter((_, index) => index % channels === channels - 1));
}

describe('renderRenditions with refine and decontaminate', () => {
  const renditions = renditionListSchema.parse([{ kind: 'mask' }, { kind: 'cutout', refine: 'edges' }]);
  const decontaminated = renditionListSchema.parse([
    { kind: 'cutout', refine: 'edges', decontaminate: true },
  ]);

  it('changes alpha in the band only, onto the subject', async () => {
    const { outputs } = await renderRenditions(decoded(scene), mask, renditions);
    const plain = (await pixelsOf(outputs[0]!.bytes, 1)).data;
    expect([...plain]).toEqual([...mask]);
    const refined = await alphaOf(outputs[1]!.bytes);
    const band = edgeBand(mask, scene.width, scene.height, 0);
    let changed = 0;
    let before = 0;
    let after = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!band[i]) expect(refined[i]).toBe(mask[i]);
      else if (refined[i] !== mask[i]) changed++;
      before += Math.abs(mask[i]! - scene.mask[i]!);
      after += Math.abs(refined[i]! - scene.mask[i]!);
    }
    expect(changed).toBeGreaterThan(500);
    // In the band the refined alpha follows the subject the colours show.
    expect(after).toBeLessThan(0.85 * before);
  });

  it('decontaminates only partial pixels, towards the subject colour', async () => {
    const [plain] = (await renderRenditions(decoded(scene), mask, renditions)).outputs.slice(1);
    const [clean] = (await renderRenditions(decoded(scene), mask, decontaminated)).outputs;
    const { data } = await pixelsOf(clean!.bytes);
    const plainCutout = await pixelsOf(plain!.bytes);
    expect([...(await alphaOf(clean!.bytes))]).toEqual([...(await alphaOf(plain!.bytes))]);
    for (let i = 0; i < mask.length; i++) {
      const alpha = data[i * 4 + 3]!;
      if (alpha === 255) expect([...data.subarray(i * 4, i * 4 + 3)]).toEqual([200, 40, 40]);
      if (alpha > 0 && alpha < 255) {
        expect(data[i * 4]!).toBeGreaterThanOrEqual(plainCutout.data[i * 4]!);
      }
    }
  });
});

describe('library removeBackground with refine', () => {
  it('makes a cutout whose alpha differs from the mask rendition only in the band', async () => {
    await syntheticModel('u2netp');
    const { noisyJpeg } = await import('../support/images.js');
    const photo = await noisyJpeg(160, 120);
    const result = await removeBackground(photo, {
      model: 'u2netp',
      modelDir: testModelDir,
      allowSynthetic: true,
      threads: 1,
      renditions: [{ kind: 'mask' }, { kind: 'cutout', refine: 'edges', decontaminate: true }],
    });
    const model = (await pixelsOf(result.outputs[0]!.bytes, 1)).data;
    const cutout = await alphaOf(result.outputs[1]!.bytes);
    const band = edgeBand(model, 160, 120, 0);
    expect(band.some((inBand) => !inBand)).toBe(true);
    for (let i = 0; i < model.length; i++) if (!band[i]) expect(cutout[i]).toBe(model[i]);
  });
});
