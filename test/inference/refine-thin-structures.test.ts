// Thin lines of their own colour on a plain backdrop (a spoke inside a wheel the model filled),
// whose alpha is known exactly: refinement lifts the line and clears the rest; a faint strand of the
// subject's own colour keeps its colour alpha.
import { describe, expect, it } from 'vitest';
import { colourAlpha } from '../../src/inference/refine/colour-alpha.js';
import { refineEdges } from '../../src/inference/refine/refine-edges.js';
import { lineWindowRadius } from '../../src/inference/refine/thin-structures.js';

const size = 200;
const backdrop = 198;
const tyre = 30;
const radiusAt = (x: number, y: number) => Math.hypot(x - 99.5, y - 99.5);
/** A dark ring (a tyre) from radius 60 to 70. */
const onRing = (x: number, y: number) => radiusAt(x, y) >= 60 && radiusAt(x, y) < 70;
/** A vertical line one pixel wide through the ring's middle, 8 px or more from the ring. */
const onLine = (x: number, y: number) => x === 100 && Math.abs(y - 100) <= 50;

/** The model: sure on the ring, unsure (160) over its rims and the whole inside (the wheel filled). */
const model = new Uint8Array(size * size);
for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    const r = radiusAt(x, y);
    model[y * size + x] = r >= 61 && r < 69 ? 255 : r < 71 ? 160 : 0;
  }
}

/** The ring in `tyre` grey and the line in `line` grey at `coverage` (0–1) over the backdrop. */
function scene(line: number, coverage: number) {
  const pixels = Buffer.alloc(size * size * 3);
  const truth = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const pixel = y * size + x;
      let value = backdrop;
      if (onRing(x, y)) {
        value = tyre;
        truth[pixel] = 255;
      } else if (onLine(x, y)) {
        value = Math.round(line * coverage + backdrop * (1 - coverage));
        truth[pixel] = Math.round(255 * coverage);
      }
      pixels.fill(value, pixel * 3, pixel * 3 + 3);
    }
  }
  return {
    image: { width: size, height: size, channels: 3 as const, pixels, format: 'png' as const },
    truth,
  };
}

describe('thin structures on a plain backdrop', () => {
  it('lifts a pale line the model lost in a filled wheel, and clears the rest of the wheel', () => {
    // a spoke 12 levels darker than the sweep: against the tyre's colour it reads α 12/168 ≈ 0.07
    const { image, truth } = scene(186, 1);
    expect(lineWindowRadius(size, size)).toBe(2);
    const lifted = new Uint8Array(size * size);
    const alpha = colourAlpha(image, model, undefined, lifted);
    const refined = refineEdges(image, model);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const pixel = y * size + x;
        expect(lifted[pixel]).toBe(onLine(x, y) ? 1 : 0);
        expect(alpha[pixel]).toBe(truth[pixel]);
        expect(refined[pixel]).toBe(truth[pixel]);
      }
    }
  });

  it('leaves a faint strand of the subject’s own colour at its colour alpha', () => {
    // the tyre's colour at 30 % coverage: 50 levels off the sweep, 0.3 of the way to the tyre
    const { image, truth } = scene(tyre, 0.3);
    const lifted = new Uint8Array(size * size);
    const alpha = colourAlpha(image, model, undefined, lifted);
    expect(lifted.every((value) => value === 0)).toBe(true);
    for (let y = 50; y <= 150; y++) {
      expect(truth[y * size + 100]).toBe(77);
      expect(alpha[y * size + 100]).toBe(76); // (198 − 148) / 168 of 255, rounded
      expect(alpha[y * size + 98]).toBe(0);
    }
  });
});
