// Mask clean-up (rembg's post-processing, made explicit): a hard threshold, removal of small
// islands, filling of enclosed holes. Pure arithmetic on the 8-bit mask.

export interface MaskCleanup {
  /** Alpha ≥ threshold becomes 255, the rest 0 (a hard mask). */
  readonly threshold?: number | undefined;
  /** Subject regions (8-connected) smaller than this many pixels are removed. */
  readonly removeIslands?: number | undefined;
  /** Background regions (4-connected) that do not reach the image border become subject. */
  readonly fillHoles?: boolean | undefined;
}

/** Where a pixel counts as subject for islands and holes without a threshold: half alpha. */
export const regionAlpha = 128;

/** A cleaned copy of `mask` (width × height); the input is left alone. */
export function cleanMask(mask: Uint8Array, width: number, height: number, cleanup: MaskCleanup): Uint8Array {
  const out = Uint8Array.from(mask);
  const cut = cleanup.threshold ?? regionAlpha;
  if (cleanup.threshold !== undefined) {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! >= cut ? 255 : 0;
  }
  if (cleanup.removeIslands !== undefined) {
    const minimum = cleanup.removeIslands;
    const { label, regions } = labelRegions(out, width, height, (value) => value >= cut, true);
    for (let i = 0; i < out.length; i++) {
      const region = label[i]!;
      if (region > 0 && regions[region - 1]!.size < minimum) out[i] = 0;
    }
  }
  if (cleanup.fillHoles) {
    const { label, regions } = labelRegions(out, width, height, (value) => value < cut, false);
    for (let i = 0; i < out.length; i++) {
      const region = label[i]!;
      if (region > 0 && !regions[region - 1]!.touchesBorder) out[i] = 255;
    }
  }
  return out;
}

interface Region {
  size: number;
  touchesBorder: boolean;
}

/**
 * Labels the connected regions of pixels for which `member` holds (8-connected when `diagonal`,
 * else 4-connected): label[i] is 1 + the index of pixel i's region in `regions`, 0 off them.
 * Flood fill with one queue: 8 bytes per pixel, whatever the regions' shapes.
 */
function labelRegions(
  mask: Uint8Array,
  width: number,
  height: number,
  member: (value: number) => boolean,
  diagonal: boolean,
): { label: Int32Array; regions: Region[] } {
  const label = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  const regions: Region[] = [];
  const steps: readonly (readonly [number, number])[] = diagonal
    ? [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
        [1, 1],
        [1, -1],
        [-1, 1],
        [-1, -1],
      ]
    : [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ];
  for (let start = 0; start < mask.length; start++) {
    if (label[start] || !member(mask[start]!)) continue;
    const region: Region = { size: 0, touchesBorder: false };
    regions.push(region);
    const id = regions.length;
    label[start] = id;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const at = queue[head++]!;
      region.size++;
      const x = at % width;
      const y = (at - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) region.touchesBorder = true;
      for (const [dx, dy] of steps) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const neighbour = ny * width + nx;
        if (label[neighbour] || !member(mask[neighbour]!)) continue;
        label[neighbour] = id;
        queue[tail++] = neighbour;
      }
    }
  }
  return { label, regions };
}
