import sharp from 'sharp';
import { expect, it } from 'vitest';
import { encodeAs } from '../../src/inference/encode.js';
import { pngEfforts } from '../../src/inference/png-encoding.js';
import { smallProductPng } from '../support/images.js';

it('every PNG effort keeps the pixels exactly (efforts trade CPU for bytes only)', async () => {
  const { data: rgba, info } = await sharp(await smallProductPng(3))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: 4 as const } };
  for (const effort of pngEfforts) {
    const png = await encodeAs(sharp(rgba, raw), 'png', undefined, effort).toBuffer();
    expect(await sharp(png).ensureAlpha().raw().toBuffer(), effort).toEqual(rgba);
  }
});
