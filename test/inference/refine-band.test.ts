// The trimap band of edge refinement: where the band is, exactly, on hand-made masks.
import { describe, expect, it } from 'vitest';
import {
  bandRegion,
  edgeBand,
  maskTiles,
  tileSide,
  tilesNearEdges,
} from '../../src/inference/refine/band.js';
import { boxMean } from '../../src/inference/refine/box-filter.js';
import { seededRandom } from '../../src/seeded-random.js';

/** A width × height mask, 255 left of column `edge`, 0 from it on. */
function stepMask(width: number, height: number, edge: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < edge; x++) mask[y * width + x] = 255;
  return mask;
}

function columnsOf(band: Uint8Array, width: number, row: number): number[] {
  return [...band.subarray(row * width, (row + 1) * width).keys()].filter((x) => band[row * width + x]);
}

describe('boxMean', () => {
  it('averages over the square clipped at the edges', () => {
    const values = Float32Array.from([0, 3, 6, 9]);
    expect([...boxMean(values, 4, 1, 1)]).toEqual([1.5, 3, 6, 7.5]);
    const square = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(boxMean(square, 3, 3, 1)[4]).toBe(5);
    expect(boxMean(square, 3, 3, 1)[0]).toBe(3); // (1 + 2 + 4 + 5) / 4
  });

  it('refuses a value count that is not width × height', () => {
    expect(() => boxMean(new Float32Array(5), 2, 2, 1)).toThrow('expected 4 values, got 5');
  });
});

describe('edgeBand', () => {
  it('is a strip of radius px on each side of the 0.5 contour', () => {
    const band = edgeBand(stepMask(20, 6, 10), 20, 6, 2);
    for (let row = 0; row < 6; row++) expect(columnsOf(band, 20, row)).toEqual([8, 9, 10, 11]);
  });

  it('scales with the radius', () => {
    const band = edgeBand(stepMask(40, 3, 20), 40, 3, 5);
    expect(columnsOf(band, 40, 1)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  });

  it('holds every pixel the model is unsure of (8–247), and no sure one away from the contour', () => {
    const mask = stepMask(30, 5, 15);
    mask[2 * 30 + 2] = 200; // unsure, deep inside the subject
    mask[2 * 30 + 4] = 250; // sure enough
    mask[3 * 30 + 27] = 8; // unsure, deep in the background
    mask[3 * 30 + 25] = 7; // sure enough
    const band = edgeBand(mask, 30, 5, 1);
    expect(columnsOf(band, 30, 2)).toEqual([2, 14, 15]);
    expect(columnsOf(band, 30, 3)).toEqual([14, 15, 27]);
  });

  it('is, pixel for pixel, every square holding both sides or an unsure pixel, across tiles', () => {
    // 3 × 2 tiles: a hard edge on a tile boundary (sure tiles of both kinds meet), a disc, noise
    const width = tileSide * 3;
    const height = tileSide * 2;
    const mask = new Uint8Array(width * height);
    const random = seededRandom(7);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const disc = (x - 150) ** 2 + (y - 70) ** 2 < 30 ** 2;
        mask[y * width + x] = x < tileSide || disc ? 255 : 0;
        if (random() < 0.001) mask[y * width + x] = Math.floor(random() * 256);
      }
    }
    for (const radius of [1, 4, 9]) {
      const band = edgeBand(mask, width, height, radius);
      let mismatches = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let inside = false;
          let outside = false;
          for (let v = Math.max(0, y - radius); v <= Math.min(height - 1, y + radius); v++) {
            for (let u = Math.max(0, x - radius); u <= Math.min(width - 1, x + radius); u++) {
              if (mask[v * width + u]! >= 128) inside = true;
              else outside = true;
            }
          }
          const value = mask[y * width + x]!;
          const expected = (inside && outside) || (value >= 8 && value <= 247) ? 1 : 0;
          if (band[y * width + x] !== expected) mismatches++;
        }
      }
      expect(mismatches).toBe(0);
    }
  });

  it('is empty for a mask without an edge', () => {
    expect(edgeBand(new Uint8Array(64).fill(255), 8, 8, 2).every((v) => v === 0)).toBe(true);
    expect(bandRegion(edgeBand(new Uint8Array(64), 8, 8, 2), 8, 8, 3)).toBeNull();
  });
});

describe('tilesNearEdges', () => {
  it('marks tiles within reach of a mixed tile or of two sure tiles of different sides', () => {
    const width = tileSide * 4;
    const mask = new Uint8Array(width * tileSide);
    for (let y = 0; y < tileSide; y++) mask.fill(255, y * width, y * width + tileSide); // tile 0 subject
    expect([...tilesNearEdges(maskTiles(mask, width, tileSide), 1)]).toEqual([1, 1, 1, 0]);
    expect([...tilesNearEdges(maskTiles(mask, width, tileSide), tileSide + 1)]).toEqual([1, 1, 1, 1]);
    mask.fill(0);
    mask[3 * tileSide + 5] = 100; // one unsure pixel in tile 3
    expect([...maskTiles(mask, width, tileSide).kind]).toEqual([0, 0, 0, 2]);
    expect([...tilesNearEdges(maskTiles(mask, width, tileSide), 1)]).toEqual([0, 0, 1, 1]);
  });
});

describe('bandRegion', () => {
  it('is the box around the band grown by the margin, within the image', () => {
    const band = new Uint8Array(100);
    band[3 * 10 + 4] = 1;
    band[5 * 10 + 6] = 1;
    expect(bandRegion(band, 10, 10, 2)).toEqual({ left: 2, top: 1, width: 7, height: 7 });
    expect(bandRegion(band, 10, 10, 9)).toEqual({ left: 0, top: 0, width: 10, height: 10 });
  });
});
