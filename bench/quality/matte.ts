// The exact alpha of a subject drawn on plain white, such as the fixtures horse.png (a black
// silhouette) and logo.png (a disc): their own alpha channels are fully opaque, so the truth has to
// come from the pixels. White connected to the border is background (white inside the subject stays
// subject); a rim pixel next to the background is a blend of white and the subject's colour beside
// it, which gives its alpha exactly. A white line painted across the subject up to its edge (the
// logo's S) would let the flood in: `keepChannelsUnder` keeps white channels that narrow as subject.

export interface Matte {
  readonly width: number;
  readonly height: number;
  /** The subject's colour, with the white blended into rim pixels taken out (interleaved RGB). */
  readonly foreground: Uint8Array;
  readonly alpha: Uint8Array;
}

/** Pixels at least this bright in every channel count as the white backdrop when flooding. */
const nearWhite = 250;

export interface MatteOptions {
  /** White channels narrower than this many pixels belong to the subject (0: none). */
  readonly keepChannelsUnder?: number;
}

export function matteFromWhite(
  rgb: Uint8Array,
  width: number,
  height: number,
  { keepChannelsUnder = 0 }: MatteOptions = {},
): Matte {
  const count = width * height;
  if (rgb.length !== count * 3) throw new RangeError(`expected ${count * 3} RGB bytes, got ${rgb.length}`);
  const white = new Uint8Array(count);
  for (let pixel = 0; pixel < count; pixel++) {
    white[pixel] = Math.min(rgb[pixel * 3]!, rgb[pixel * 3 + 1]!, rgb[pixel * 3 + 2]!) >= nearWhite ? 1 : 0;
  }
  const background = withoutNarrowChannels(white, width, height, Math.ceil(keepChannelsUnder / 2));
  const alpha = new Uint8Array(count);
  const foreground = Uint8Array.from(rgb);
  const isRim = (pixel: number) =>
    !background[pixel] && neighbours(pixel, width, height, 1).some((n) => background[n]);
  for (let pixel = 0; pixel < count; pixel++) alpha[pixel] = background[pixel] ? 0 : 255;
  for (let pixel = 0; pixel < count; pixel++) {
    if (!isRim(pixel)) continue;
    const inner = neighbours(pixel, width, height, 2).filter((n) => !background[n] && !isRim(n));
    if (inner.length === 0) continue; // a sliver with no interior beside it: keep it opaque
    for (let channel = 0; channel < 3; channel++) {
      foreground[pixel * 3 + channel] = Math.round(
        inner.reduce((sum, n) => sum + rgb[n * 3 + channel]!, 0) / inner.length,
      );
    }
    // observed = a·subject + (1 − a)·255, solved on the channel where subject and white differ most
    let best = 0;
    let share = 1;
    for (let channel = 0; channel < 3; channel++) {
      const contrast = 255 - foreground[pixel * 3 + channel]!;
      if (contrast > best) {
        best = contrast;
        share = (255 - rgb[pixel * 3 + channel]!) / contrast;
      }
    }
    alpha[pixel] = best < 16 ? 255 : Math.round(255 * Math.min(1, Math.max(0, share)));
  }
  return { width, height, foreground, alpha };
}

/**
 * The white connected to the border, less channels narrower than 2·radius: flooded in the white
 * eroded by `radius` (a thin channel vanishes there), then grown back by `radius` within the white.
 */
function withoutNarrowChannels(white: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius === 0) return flood(white, width, height);
  const eroded = boxFilter(white, width, height, radius, Math.min);
  const grown = boxFilter(flood(eroded, width, height), width, height, radius, Math.max);
  return grown.map((value, pixel) => value & white[pixel]!);
}

function flood(allowed: Uint8Array, width: number, height: number): Uint8Array {
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const push = (pixel: number) => {
    if (!seen[pixel] && allowed[pixel]) {
      seen[pixel] = 1;
      stack.push(pixel);
    }
  };
  for (let x = 0; x < width; x++) {
    push(x);
    push((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    push(y * width);
    push(y * width + width - 1);
  }
  while (stack.length > 0) {
    const pixel = stack.pop()!;
    for (const n of neighbours(pixel, width, height, 1)) push(n);
  }
  return seen;
}

/** Min or max over the (2·radius + 1)² square around each pixel, as two 1-D passes. */
function boxFilter(
  mask: Uint8Array,
  width: number,
  height: number,
  radius: number,
  pick: (...values: number[]) => number,
): Uint8Array {
  const rows = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = y * width + Math.max(0, x - radius);
      const to = y * width + Math.min(width - 1, x + radius);
      rows[y * width + x] = pick(...mask.subarray(from, to + 1));
    }
  }
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const column: number[] = [];
      for (let dy = Math.max(0, y - radius); dy <= Math.min(height - 1, y + radius); dy++) {
        column.push(rows[dy * width + x]!);
      }
      out[y * width + x] = pick(...column);
    }
  }
  return out;
}

/** Pixels within `radius` (Chebyshev) of `pixel`, inside the image, without the pixel itself. */
function neighbours(pixel: number, width: number, height: number, radius: number): number[] {
  const x = pixel % width;
  const y = (pixel - x) / width;
  const found: number[] = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const nx = x + dx;
      const ny = y + dy;
      if ((dx || dy) && nx >= 0 && ny >= 0 && nx < width && ny < height) found.push(ny * width + nx);
    }
  }
  return found;
}
