// rembg's alpha matting, re-implemented as the baseline: rembg's `alpha_matting_cutout` makes a
// trimap from the model's mask (foreground: mask > 240, background: mask < 10, each eroded by a
// 10×10 square; the rest unknown) and solves pymatting's `estimate_alpha_cf`: Levin, Lischinski &
// Weiss's closed-form matting (3×3 windows, ε = 1e-7), alpha of the unknown pixels from
// L_UU α_U = −L_UK α_K. pymatting solves it with conjugate gradients and an incomplete-Cholesky
// preconditioner; here conjugate gradients with a Jacobi preconditioner, the Laplacian applied
// without being stored (per window: a = Δ⁻¹(mean(I·p) − μ·p̄), b = p̄ − aᵀμ; (Lp)ᵢ = Σₖ pᵢ − aₖᵀIᵢ − bₖ).
// Large images are solved on a copy scaled down to `maxSide` (rembg solves the full image, which is
// what makes it take minutes on a 2000 px photo); the alpha is scaled back up with Lanczos.
import sharp from 'sharp';

export interface ClosedFormOptions {
  /** Longest side solved at (default 1024): larger images are scaled down first. */
  readonly maxSide?: number;
  /** Conjugate-gradient stop: residual below this share of the right-hand side (default 1e-5). */
  readonly tolerance?: number;
  readonly maxIterations?: number;
}

export interface ClosedFormResult {
  readonly alpha: Uint8Array;
  /** The side the system was solved at, and the iterations it took. */
  readonly solvedWidth: number;
  readonly solvedHeight: number;
  readonly iterations: number;
  readonly unknown: number;
}

const windowEpsilon = 1e-7;

/** rembg's trimap: 255 foreground, 0 background, 128 unknown. */
export function rembgTrimap(mask: Uint8Array, width: number, height: number): Uint8Array {
  const foreground = erode10(
    mask.map((v) => (v > 240 ? 1 : 0)),
    width,
    height,
    0,
  );
  const background = erode10(
    mask.map((v) => (v < 10 ? 1 : 0)),
    width,
    height,
    1,
  );
  return foreground.map((f, i) => (f ? 255 : background[i] ? 0 : 128));
}

/** scipy's binary_erosion with np.ones((10, 10)): the square spans offsets −5 … +4; `border` outside. */
function erode10(set: Uint8Array, width: number, height: number, border: 0 | 1): Uint8Array {
  const pass = (source: Uint8Array, along: 'x' | 'y') => {
    const out = new Uint8Array(source.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let all = 1;
        for (let k = -5; k <= 4 && all; k++) {
          const nx = along === 'x' ? x + k : x;
          const ny = along === 'y' ? y + k : y;
          const inside = nx >= 0 && ny >= 0 && nx < width && ny < height;
          all = inside ? source[ny * width + nx]! : border;
        }
        out[y * width + x] = all;
      }
    }
    return out;
  };
  return pass(pass(set, 'x'), 'y');
}

/** rembg's alpha for `rgb` (interleaved, 3 channels) and the model's `mask`. */
export async function closedFormAlpha(
  rgb: Uint8Array,
  mask: Uint8Array,
  width: number,
  height: number,
  options: ClosedFormOptions = {},
): Promise<ClosedFormResult> {
  const scale = Math.min(1, (options.maxSide ?? 1024) / Math.max(width, height));
  const w = Math.max(3, Math.round(width * scale));
  const h = Math.max(3, Math.round(height * scale));
  const small = scale < 1 ? await resized(rgb, width, height, 3, w, h) : rgb;
  const smallMask = scale < 1 ? await resized(mask, width, height, 1, w, h) : mask;
  const trimap = rembgTrimap(smallMask, w, h);
  const { alpha, iterations, unknown } = solve(small, trimap, w, h, options);
  const full = scale < 1 ? await resized(alpha, w, h, 1, width, height) : alpha;
  return { alpha: full, solvedWidth: w, solvedHeight: h, iterations, unknown };
}

async function resized(
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  toWidth: number,
  toHeight: number,
): Promise<Uint8Array> {
  let pipeline = sharp(data, { raw: { width, height, channels } }).resize(toWidth, toHeight, {
    fit: 'fill',
    kernel: 'lanczos3',
  });
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  return new Uint8Array(await pipeline.raw().toBuffer());
}

function solve(
  rgb: Uint8Array,
  trimap: Uint8Array,
  width: number,
  height: number,
  options: ClosedFormOptions,
): { alpha: Uint8Array; iterations: number; unknown: number } {
  const count = width * height;
  const unknown: number[] = [];
  for (let i = 0; i < count; i++) if (trimap[i] === 128) unknown.push(i);
  const alpha = trimap.map((t) => (t === 255 ? 255 : 0));
  if (unknown.length === 0) return { alpha, iterations: 0, unknown: 0 };
  const colour = Float32Array.from(rgb, (v) => v / 255);
  // Windows (3×3, wholly inside the image, as pymatting's cf_laplacian) touching an unknown pixel.
  const isWindow = new Uint8Array(count);
  for (const i of unknown) {
    const x = i % width;
    const y = (i - x) / width;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const cx = x + dx;
        const cy = y + dy;
        if (cx >= 1 && cy >= 1 && cx < width - 1 && cy < height - 1) isWindow[cy * width + cx] = 1;
      }
    }
  }
  const windows: number[] = [];
  for (let i = 0; i < count; i++) if (isWindow[i]) windows.push(i);
  const offsets = [-width - 1, -width, -width + 1, -1, 0, 1, width - 1, width, width + 1];
  // Per window: μ (3) and Δ⁻¹ (symmetric: 6), Δ = Σ + ε/9·U.
  const stats = new Float32Array(windows.length * 9);
  const slot = new Int32Array(count).fill(-1);
  windows.forEach((k, index) => {
    slot[k] = index;
    let mr = 0;
    let mg = 0;
    let mb = 0;
    for (const o of offsets) {
      mr += colour[(k + o) * 3]!;
      mg += colour[(k + o) * 3 + 1]!;
      mb += colour[(k + o) * 3 + 2]!;
    }
    mr /= 9;
    mg /= 9;
    mb /= 9;
    let rr = 0;
    let rg = 0;
    let rb = 0;
    let gg = 0;
    let gb = 0;
    let bb = 0;
    for (const o of offsets) {
      const r = colour[(k + o) * 3]! - mr;
      const g = colour[(k + o) * 3 + 1]! - mg;
      const b = colour[(k + o) * 3 + 2]! - mb;
      rr += r * r;
      rg += r * g;
      rb += r * b;
      gg += g * g;
      gb += g * b;
      bb += b * b;
    }
    const e = windowEpsilon / 9;
    rr = rr / 9 + e;
    rg /= 9;
    rb /= 9;
    gg = gg / 9 + e;
    gb /= 9;
    bb = bb / 9 + e;
    const i00 = gg * bb - gb * gb;
    const i01 = rb * gb - rg * bb;
    const i02 = rg * gb - rb * gg;
    const det = rr * i00 + rg * i01 + rb * i02;
    const at = index * 9;
    stats[at] = mr;
    stats[at + 1] = mg;
    stats[at + 2] = mb;
    stats[at + 3] = i00 / det;
    stats[at + 4] = i01 / det;
    stats[at + 5] = i02 / det;
    stats[at + 6] = (rr * bb - rb * rb) / det;
    stats[at + 7] = (rb * rg - rr * gb) / det;
    stats[at + 8] = (rr * gg - rg * rg) / det;
  });
  const coefficients = new Float32Array(windows.length * 4);
  /** (L p) at the unknown pixels, p given on every pixel. */
  const apply = (p: Float32Array, out: Float64Array) => {
    windows.forEach((k, index) => {
      let mp = 0;
      let ir = 0;
      let ig = 0;
      let ib = 0;
      for (const o of offsets) {
        const v = p[k + o]!;
        mp += v;
        ir += colour[(k + o) * 3]! * v;
        ig += colour[(k + o) * 3 + 1]! * v;
        ib += colour[(k + o) * 3 + 2]! * v;
      }
      mp /= 9;
      const s = index * 9;
      const cr = ir / 9 - stats[s]! * mp;
      const cg = ig / 9 - stats[s + 1]! * mp;
      const cb = ib / 9 - stats[s + 2]! * mp;
      const ar = stats[s + 3]! * cr + stats[s + 4]! * cg + stats[s + 5]! * cb;
      const ag = stats[s + 4]! * cr + stats[s + 6]! * cg + stats[s + 7]! * cb;
      const ab = stats[s + 5]! * cr + stats[s + 7]! * cg + stats[s + 8]! * cb;
      const c = index * 4;
      coefficients[c] = ar;
      coefficients[c + 1] = ag;
      coefficients[c + 2] = ab;
      coefficients[c + 3] = mp - ar * stats[s]! - ag * stats[s + 1]! - ab * stats[s + 2]!;
    });
    unknown.forEach((i, u) => {
      let sum = 0;
      for (const o of offsets) {
        const index = slot[i + o]!;
        if (index < 0) continue;
        const c = index * 4;
        sum +=
          p[i]! -
          coefficients[c]! * colour[i * 3]! -
          coefficients[c + 1]! * colour[i * 3 + 1]! -
          coefficients[c + 2]! * colour[i * 3 + 2]! -
          coefficients[c + 3]!;
      }
      out[u] = sum;
    });
  };
  const diagonal = unknown.map((i) => {
    let sum = 0;
    for (const o of offsets) {
      const index = slot[i + o]!;
      if (index < 0) continue;
      const s = index * 9;
      const r = colour[i * 3]! - stats[s]!;
      const g = colour[i * 3 + 1]! - stats[s + 1]!;
      const b = colour[i * 3 + 2]! - stats[s + 2]!;
      const q =
        r * (stats[s + 3]! * r + stats[s + 4]! * g + stats[s + 5]! * b) +
        g * (stats[s + 4]! * r + stats[s + 6]! * g + stats[s + 7]! * b) +
        b * (stats[s + 5]! * r + stats[s + 7]! * g + stats[s + 8]! * b);
      sum += 1 - (1 + q) / 9;
    }
    return sum > 1e-12 ? sum : 1;
  });
  // Right-hand side −L_UK α_K: L applied to the known alphas (unknown ones 0).
  const field = Float32Array.from(trimap, (t) => (t === 255 ? 1 : 0));
  for (const i of unknown) field[i] = 0;
  const n = unknown.length;
  const residual = new Float64Array(n);
  apply(field, residual);
  for (let u = 0; u < n; u++) residual[u] = -residual[u]!;
  const norm = Math.sqrt(residual.reduce((s, v) => s + v * v, 0)) || 1;
  const x = new Float64Array(n);
  const z = Float64Array.from(residual, (v, u) => v / diagonal[u]!);
  const direction = Float64Array.from(z);
  const product = new Float64Array(n);
  const spread = new Float32Array(count);
  let rz = residual.reduce((s, v, u) => s + v * z[u]!, 0);
  const tolerance = options.tolerance ?? 1e-5;
  const maxIterations = options.maxIterations ?? 4000;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    for (let u = 0; u < n; u++) spread[unknown[u]!] = direction[u]!;
    apply(spread, product);
    let dAd = 0;
    for (let u = 0; u < n; u++) dAd += direction[u]! * product[u]!;
    const step = rz / dAd;
    let rr = 0;
    for (let u = 0; u < n; u++) {
      x[u] = x[u]! + step * direction[u]!;
      residual[u] = residual[u]! - step * product[u]!;
      rr += residual[u]! * residual[u]!;
    }
    if (Math.sqrt(rr) < tolerance * norm) break;
    let next = 0;
    for (let u = 0; u < n; u++) {
      z[u] = residual[u]! / diagonal[u]!;
      next += residual[u]! * z[u]!;
    }
    const beta = next / rz;
    rz = next;
    for (let u = 0; u < n; u++) direction[u] = z[u]! + beta * direction[u]!;
  }
  unknown.forEach((i, u) => {
    alpha[i] = Math.round(255 * Math.min(1, Math.max(0, x[u]!)));
  });
  return { alpha, iterations, unknown: n };
}
