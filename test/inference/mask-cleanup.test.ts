import { describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { cleanMask } from '../../src/inference/mask-cleanup.js';
import { renderRenditions } from '../../src/inference/render.js';
import { pixelsOf } from '../support/images.js';

/** A mask from rows of characters: '#' 255, '+' 200, '-' 60, '.' 0. */
function maskOf(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const values: Record<string, number> = { '#': 255, '+': 200, '-': 60, '.': 0 };
  const width = rows[0]!.length;
  return { mask: Uint8Array.from(rows.join('').split(''), (c) => values[c]!), width, height: rows.length };
}

function rowsOf(mask: Uint8Array, width: number): string[] {
  const names = new Map([
    [255, '#'],
    [200, '+'],
    [60, '-'],
    [0, '.'],
  ]);
  const rows: string[] = [];
  for (let at = 0; at < mask.length; at += width) {
    rows.push([...mask.subarray(at, at + width)].map((v) => names.get(v) ?? '?').join(''));
  }
  return rows;
}

const scene = maskOf([
  '#.........',
  '..######..',
  '..#....#..',
  '..#.-..#..',
  '..######..',
  '.......++.',
  '.........-',
]);

function cleaned(cleanup: Parameters<typeof cleanMask>[3]): string[] {
  return rowsOf(cleanMask(scene.mask, scene.width, scene.height, cleanup), scene.width);
}

describe('cleanMask', () => {
  it('threshold: alpha at or above it becomes 255, the rest 0', () => {
    expect(cleaned({ threshold: 60 })).toEqual([
      '#.........',
      '..######..',
      '..#....#..',
      '..#.#..#..',
      '..######..',
      '.......##.',
      '.........#',
    ]);
    expect(cleaned({ threshold: 201 })[5]).toBe('..........');
  });

  it('removeIslands: subject regions (8-connected, alpha ≥ 128) smaller than the area go, soft alpha elsewhere stays', () => {
    // The corner pixel (1) goes; the ring (20 pixels) and the '++' touching it diagonally stay,
    // being one 8-connected region of 22 pixels.
    expect(cleaned({ removeIslands: 2 })).toEqual([
      '..........',
      '..######..',
      '..#....#..',
      '..#.-..#..',
      '..######..',
      '.......++.',
      '.........-',
    ]);
    expect(cleaned({ removeIslands: 23 })).toEqual([
      '..........',
      '..........',
      '..........',
      '....-.....',
      '..........',
      '..........',
      '.........-',
    ]);
  });

  it('fillHoles: background regions (4-connected) that do not reach the border become 255', () => {
    expect(cleaned({ fillHoles: true })).toEqual([
      '#.........',
      '..######..',
      '..######..',
      '..######..',
      '..######..',
      '.......++.',
      '.........-',
    ]);
  });

  it('holes: background meeting the border only diagonally is enclosed, a gap in a side is not', () => {
    // The subject ring is 8-connected, so it closes around the corner; the background is 4-connected.
    const corner = maskOf(['.###', '#..#', '#..#', '####']);
    expect(rowsOf(cleanMask(corner.mask, 4, 4, { fillHoles: true }), 4)).toEqual([
      '.###',
      '####',
      '####',
      '####',
    ]);
    const gap = maskOf(['#.##', '#..#', '#..#', '####']);
    expect(rowsOf(cleanMask(gap.mask, 4, 4, { fillHoles: true }), 4)).toEqual([
      '#.##',
      '#..#',
      '#..#',
      '####',
    ]);
  });

  it('applies threshold, then islands, then holes, and leaves its input alone', () => {
    const before = Uint8Array.from(scene.mask);
    expect(cleaned({ threshold: 60, removeIslands: 2, fillHoles: true })).toEqual([
      '..........',
      '..######..',
      '..######..',
      '..######..',
      '..######..',
      '.......##.',
      '.........#',
    ]);
    expect(scene.mask).toEqual(before);
  });
});

describe('cleanup on a rendition', () => {
  it('renders each rendition from its own cleaned mask, the others from the model mask', async () => {
    const image = {
      width: scene.width,
      height: scene.height,
      channels: 3 as const,
      pixels: Buffer.alloc(scene.width * scene.height * 3, 100),
      format: 'png' as const,
    };
    const renditions = renditionListSchema.parse([
      { kind: 'mask' },
      { kind: 'cutout', cleanup: { threshold: 60, removeIslands: 2, fillHoles: true } },
    ]);
    const { outputs, subject } = await renderRenditions(image, scene.mask, renditions);
    // The model mask's subject box includes the corner pixel (0, 0).
    expect(subject).toEqual({ left: 0, top: 0, width: 10, height: 7 });
    const plain = await pixelsOf(outputs[0]!.bytes, 1);
    expect(rowsOf(plain.data, scene.width)).toEqual(rowsOf(scene.mask, scene.width));
    const cut = await pixelsOf(outputs[1]!.bytes);
    const alpha = Uint8Array.from({ length: scene.mask.length }, (_, i) => cut.data[i * 4 + 3]!);
    expect(rowsOf(alpha, scene.width)).toEqual(cleaned({ threshold: 60, removeIslands: 2, fillHoles: true }));
  });
});
