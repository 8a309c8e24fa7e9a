// A plain backdrop (a studio sweep, a wall) read as one smooth colour field: a quadratic in x and
// y per channel, fitted by least squares to the blocks the model calls sure background, refitted
// twice without the blocks that stray from it (a contact shadow, a stray object). Where it fits
// within `plainRms`, the backdrop's colour behind an edge is known across a whole wide band (inside
// a bicycle wheel, under a motion blur), better than any mean of distant background pixels, which
// a sweep's gradient biases. A textured backdrop does not fit, and the caller keeps local means.

/** Root-mean-square residual (colour 0–1, per channel) under which a backdrop counts as plain: ≈ 4 levels. */
export const plainRms = 0.015;

/** Blocks whose mean weight of sure background reaches this are fitted (whole blocks of backdrop). */
const wholeBlock = 0.9;

/** A fit needs this many blocks: fewer cannot tell a plain backdrop from a lucky patch. */
const fewestBlocks = 50;

/** Blocks farther than this many times the fit's rms from it are left out of the next round. */
const strayFactor = 2.5;

export interface PlainBackground {
  /** The fitted colour of every block, planes 0–1 (red, green, blue). */
  readonly colour: [Float32Array, Float32Array, Float32Array];
  /** The fit's residual over the blocks it kept. */
  readonly rms: number;
}

/**
 * The backdrop as a quadratic colour field over a `columns` × `rows` grid of blocks, from the
 * blocks' mean colours `colour` where `weight` (share of sure background pixels) is whole; null
 * when it does not fit within `plainRms`.
 */
export function plainBackground(
  colour: readonly Float32Array[],
  weight: Float32Array,
  columns: number,
  rows: number,
): PlainBackground | null {
  // the whole blocks: their quadratic terms (6 a block) and colours, gathered once
  // every other block each way: the field is smooth, a quarter of the blocks pin it as well
  const blocks: number[] = [];
  for (let y = 0; y < rows; y += 2) {
    for (let x = 0; x < columns; x += 2)
      if (weight[y * columns + x]! >= wholeBlock) blocks.push(y * columns + x);
  }
  if (blocks.length < fewestBlocks) return null;
  const terms = new Float64Array(blocks.length * 6);
  for (const [k, i] of blocks.entries()) termsAt(i % columns, (i / columns) | 0, columns, rows, terms, k * 6);
  const residuals = new Float64Array(blocks.length);
  let coefficients: number[][] | null = null;
  let rms = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const limit = (strayFactor * rms) ** 2;
    const normal = new Float64Array(36);
    const right = new Float64Array(18);
    let used = 0;
    for (let k = 0; k < blocks.length; k++) {
      if (coefficients && residuals[k]! > limit) continue;
      used++;
      const i = blocks[k]!;
      for (let a = 0; a < 6; a++) {
        const ta = terms[k * 6 + a]!;
        for (let b = 0; b < 6; b++) normal[a * 6 + b]! += ta * terms[k * 6 + b]!;
        for (let c = 0; c < 3; c++) right[c * 6 + a]! += ta * colour[c]![i]!;
      }
    }
    if (used < fewestBlocks) return null;
    const matrix = Array.from({ length: 6 }, (_, a) => [...normal.subarray(a * 6, a * 6 + 6)]);
    const fitted = [0, 1, 2].map((c) => solveLinear(matrix, [...right.subarray(c * 6, c * 6 + 6)]));
    if (fitted.some((column) => column === null)) return null;
    const kept = coefficients === null ? () => true : (k: number) => residuals[k]! <= limit;
    coefficients = fitted as number[][];
    let sum = 0;
    for (let k = 0; k < blocks.length; k++) {
      const wasUsed = kept(k);
      let residual = 0;
      for (let c = 0; c < 3; c++) {
        const row = coefficients[c]!;
        let value = 0;
        for (let a = 0; a < 6; a++) value += row[a]! * terms[k * 6 + a]!;
        residual += (value - colour[c]![blocks[k]!]!) ** 2;
      }
      residuals[k] = residual / 3;
      if (wasUsed) sum += residuals[k]!;
    }
    rms = Math.sqrt(sum / used);
  }
  if (!coefficients || rms > plainRms) return null;
  const count = columns * rows;
  const out: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(count),
    new Float32Array(count),
    new Float32Array(count),
  ];
  const at = new Float64Array(6);
  for (let i = 0; i < count; i++) {
    termsAt(i % columns, (i / columns) | 0, columns, rows, at, 0);
    for (let c = 0; c < 3; c++) {
      const row = coefficients[c]!;
      let value = 0;
      for (let a = 0; a < 6; a++) value += row[a]! * at[a]!;
      out[c]![i] = value;
    }
  }
  return { colour: out, rms };
}

/** 1, u, v, u², uv, v² of block (x, y), u and v from −1 to 1 across the grid, into `out` from `at`. */
function termsAt(x: number, y: number, columns: number, rows: number, out: Float64Array, at: number): void {
  const u = (2 * x) / columns - 1;
  const v = (2 * y) / rows - 1;
  out[at] = 1;
  out[at + 1] = u;
  out[at + 2] = v;
  out[at + 3] = u * u;
  out[at + 4] = u * v;
  out[at + 5] = v * v;
}

/** x solving the n × n system `matrix` x = `right` (Gauss–Jordan, partial pivoting); null when singular. */
export function solveLinear(matrix: readonly number[][], right: readonly number[]): number[] | null {
  const n = right.length;
  const rows = matrix.map((row, i) => [...row, right[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(rows[r]![col]!) > Math.abs(rows[pivot]![col]!)) pivot = r;
    [rows[col], rows[pivot]] = [rows[pivot]!, rows[col]!];
    const lead = rows[col]![col]!;
    if (Math.abs(lead) < 1e-12) return null;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const factor = rows[r]![col]! / lead;
      if (factor === 0) continue;
      for (let k = col; k <= n; k++) rows[r]![k]! -= factor * rows[col]![k]!;
    }
  }
  return rows.map((row, i) => row[n]! / row[i]!);
}
