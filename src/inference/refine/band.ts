// The trimap's unknown band, from the model's soft mask: where the model is unsure (alpha
// `unsureAbove`–`unsureBelow`), and with a radius, a strip around its 0.5 contour, `radius` px to
// each side. Edge refinement uses radius 0 (only the unsure pixels): where the model is sure, a
// strip let textured backdrops into the edge (docs/inference.md).
// Work is confined to tiles near an edge: a tile whose surroundings are all sure and on one side
// holds no band pixel, and most of a photo is such tiles.

/** Mask values in [unsureAbove, unsureBelow] are the model hesitating: always in the band. */
export const unsureAbove = 8;
export const unsureBelow = 247;

/** Side in px of the tiles the band is looked for in. */
export const tileSide = 32;

/** The image cut into tileSide² tiles (the last row and column may be smaller). */
export interface Tiles {
  readonly columns: number;
  readonly rows: number;
  /** Per tile: 0 every pixel sure background (< unsureAbove), 1 every pixel sure subject (> unsureBelow), 2 else. */
  readonly kind: Uint8Array;
}

/** Each tile's kind, from one pass over the mask. */
export function maskTiles(mask: Uint8Array, width: number, height: number): Tiles {
  if (mask.length !== width * height) {
    throw new RangeError(`expected ${width * height} mask values, got ${mask.length}`);
  }
  const columns = Math.ceil(width / tileSide);
  const rows = Math.ceil(height / tileSide);
  const low = new Uint8Array(columns * rows).fill(255);
  const high = new Uint8Array(columns * rows);
  for (let y = 0; y < height; y++) {
    const tileRow = ((y / tileSide) | 0) * columns;
    for (let x = 0; x < width; x += tileSide) {
      const end = Math.min(width, x + tileSide);
      let min = 255;
      let max = 0;
      for (let i = y * width + x, last = y * width + end; i < last; i++) {
        const value = mask[i]!;
        if (value < min) min = value;
        if (value > max) max = value;
      }
      const tile = tileRow + ((x / tileSide) | 0);
      if (min < low[tile]!) low[tile] = min;
      if (max > high[tile]!) high[tile] = max;
    }
  }
  const kind = new Uint8Array(columns * rows);
  for (let tile = 0; tile < kind.length; tile++) {
    kind[tile] = high[tile]! < unsureAbove ? 0 : low[tile]! > unsureBelow ? 1 : 2;
  }
  return { columns, rows, kind };
}

/** A mask's tiles and its band of unsure pixels (radius 0), computed once for the refinement steps. */
export interface BandArea {
  readonly tiles: Tiles;
  readonly band: Uint8Array;
}

export function unsureArea(mask: Uint8Array, width: number, height: number): BandArea {
  const tiles = maskTiles(mask, width, height);
  return { tiles, band: edgeBand(mask, width, height, 0, tiles) };
}

/**
 * 1 for every tile with a pixel within `reach` px of an edge (a tile of kind 2, or a sure subject
 * tile beside a sure background one), else 0.
 */
export function tilesNearEdges({ columns, rows, kind }: Tiles, reach: number): Uint8Array {
  const edge = new Uint8Array(columns * rows);
  for (let tile = 0; tile < kind.length; tile++) {
    const own = kind[tile]!;
    if (own === 2) edge[tile] = 1;
    // a sure subject tile next to a sure background tile: both touch the edge between them
    const right = tile % columns < columns - 1 ? kind[tile + 1] : undefined;
    const below = kind[tile + columns];
    if (own + (right ?? 2) === 1) edge[tile] = edge[tile + 1] = 1;
    if (own + (below ?? 2) === 1) edge[tile] = edge[tile + columns] = 1;
  }
  const spread = Math.ceil(reach / tileSide);
  const near = new Uint8Array(columns * rows);
  for (let ty = 0; ty < rows; ty++) {
    for (let tx = 0; tx < columns; tx++) {
      if (!edge[ty * columns + tx]) continue;
      for (let y = Math.max(0, ty - spread); y <= Math.min(rows - 1, ty + spread); y++) {
        near.fill(
          1,
          y * columns + Math.max(0, tx - spread),
          y * columns + Math.min(columns - 1, tx + spread) + 1,
        );
      }
    }
  }
  return near;
}

/** Calls `visit` with the pixel box of every tile marked in `marked`. */
export function forEachTile(
  marked: Uint8Array,
  columns: number,
  width: number,
  height: number,
  visit: (left: number, top: number, right: number, bottom: number) => void,
): void {
  for (let tile = 0; tile < marked.length; tile++) {
    if (!marked[tile]) continue;
    const left = (tile % columns) * tileSide;
    const top = ((tile / columns) | 0) * tileSide;
    visit(left, top, Math.min(width, left + tileSide), Math.min(height, top + tileSide));
  }
}

/**
 * 1 where a pixel is in the band, else 0: its (2·radius + 1)² square holds pixels on both sides of
 * the 0.5 contour (mask ≥ 128 and < 128), or the model is unsure of it. `tiles`: maskTiles of the
 * mask, when the caller has them.
 */
export function edgeBand(
  mask: Uint8Array,
  width: number,
  height: number,
  radius: number,
  tiles = maskTiles(mask, width, height),
): Uint8Array {
  const band = new Uint8Array(mask.length);
  // The square holds both sides when the square dilations of both sides cover the pixel. Dilation
  // is separable: bit 1 of `near` = an inside pixel within `radius` along the row, bit 2 = an
  // outside one; then the same along the column, on those bits. Per tile, on the tile grown by
  // the radius.
  const span = tileSide + 2 * radius;
  const near = new Uint8Array(span * span);
  const last = new Int32Array(2 * tileSide);
  forEachTile(tilesNearEdges(tiles, radius), tiles.columns, width, height, (left, top, right, bottom) => {
    const x0 = Math.max(0, left - radius);
    const x1 = Math.min(width, right + radius);
    const y0 = Math.max(0, top - radius);
    const y1 = Math.min(height, bottom + radius);
    const spanX = x1 - x0;
    for (let y = y0; y < y1; y++) nearAlongRow(mask, near, y * width + x0, (y - y0) * spanX, spanX, radius);
    const columns = right - left;
    // down the columns: rows since an inside (first half of `last`) or outside pixel was near
    last.fill(-radius - 1);
    for (let y = y0; y < bottom; y++) {
      const row = (y - y0) * spanX + left - x0;
      for (let x = 0; x < columns; x++) {
        const bits = near[row + x]!;
        if (bits & 1) last[x] = y;
        if (bits & 2) last[tileSide + x] = y;
        if (y >= top) {
          band[y * width + left + x] =
            (y - last[x]! <= radius ? 1 : 0) | (y - last[tileSide + x]! <= radius ? 2 : 0);
        }
      }
    }
    last.fill(height + radius);
    for (let y = y1 - 1; y >= top; y--) {
      const row = (y - y0) * spanX + left - x0;
      for (let x = 0; x < columns; x++) {
        const bits = near[row + x]!;
        if (bits & 1) last[x] = y;
        if (bits & 2) last[tileSide + x] = y;
        if (y >= bottom) continue;
        const pixel = y * width + left + x;
        const both =
          band[pixel]! | (last[x]! - y <= radius ? 1 : 0) | (last[tileSide + x]! - y <= radius ? 2 : 0);
        const value = mask[pixel]!;
        band[pixel] = both === 3 || (value >= unsureAbove && value <= unsureBelow) ? 1 : 0;
      }
    }
  });
  return band;
}

/**
 * Bits 1 (inside, mask ≥ 128) and 2 (outside) of the `length` mask values from `from`: which sides
 * lie within `radius` of each, written to `near` from `to`.
 */
function nearAlongRow(
  mask: Uint8Array,
  near: Uint8Array,
  from: number,
  to: number,
  length: number,
  radius: number,
): void {
  let lastInside = -radius - 1;
  let lastOutside = -radius - 1;
  for (let x = 0; x < length; x++) {
    if (mask[from + x]! >= 128) lastInside = x;
    else lastOutside = x;
    near[to + x] = (x - lastInside <= radius ? 1 : 0) | (x - lastOutside <= radius ? 2 : 0);
  }
  let nextInside = length + radius;
  let nextOutside = length + radius;
  for (let x = length - 1; x >= 0; x--) {
    if (mask[from + x]! >= 128) nextInside = x;
    else nextOutside = x;
    near[to + x] = near[to + x]! | (nextInside - x <= radius ? 1 : 0) | (nextOutside - x <= radius ? 2 : 0);
  }
}

export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** The box around the band's pixels (value 1) grown by `margin` on each side, within the image; null when empty. */
export function bandRegion(band: Uint8Array, width: number, height: number, margin: number): Region | null {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = band.subarray(y * width, (y + 1) * width);
    const first = row.indexOf(1);
    if (first < 0) continue;
    left = Math.min(left, first);
    right = Math.max(right, row.lastIndexOf(1));
    if (top === height) top = y;
    bottom = y;
  }
  if (right < 0) return null;
  left = Math.max(0, left - margin);
  top = Math.max(0, top - margin);
  right = Math.min(width - 1, right + margin);
  bottom = Math.min(height - 1, bottom + margin);
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}
