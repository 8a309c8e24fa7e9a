// The mean over a (2r + 1)² square around each pixel, clipped at the image's edges (divided by the
// pixels the clipped square holds), as two 1-D passes of running sums: O(1) per pixel whatever r.

/**
 * `out[i]` = mean of `values` over the square of radius `radius` around pixel i (width × height).
 * `rows` holds the first pass (pass one array of that length to reuse it across calls).
 */
export function boxMean(
  values: Float32Array,
  width: number,
  height: number,
  radius: number,
  out: Float32Array = new Float32Array(values.length),
  rows: Float32Array = new Float32Array(values.length),
): Float32Array {
  if (values.length !== width * height) {
    throw new RangeError(`expected ${width * height} values, got ${values.length}`);
  }
  for (let y = 0; y < height; y++) slideMean(values, rows, y * width, 1, width, radius);
  for (let x = 0; x < width; x++) slideMean(rows, out, x, width, height, radius);
  return out;
}

/** One line of `length` values from `start`, `stride` apart: the running-sum mean of radius `radius`. */
function slideMean(
  source: Float32Array,
  target: Float32Array,
  start: number,
  stride: number,
  length: number,
  radius: number,
): void {
  // float64 running sum: a float32 one drifts over a line of thousands of values
  let sum = 0;
  const firstEnd = Math.min(length - 1, radius);
  for (let i = 0; i <= firstEnd; i++) sum += source[start + i * stride]!;
  for (let i = 0; i < length; i++) {
    const from = Math.max(0, i - radius);
    const to = Math.min(length - 1, i + radius);
    target[start + i * stride] = sum / (to - from + 1);
    const entering = i + radius + 1;
    const leaving = i - radius;
    if (entering < length) sum += source[start + entering * stride]!;
    if (leaving >= 0) sum -= source[start + leaving * stride]!;
  }
}
