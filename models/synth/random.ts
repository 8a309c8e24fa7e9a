// Seeded, portable random numbers for synthetic weights. Each tensor draws from its own stream keyed by
// (seed, tensor name), so the bytes of a tensor do not depend on the order tensors are generated in.

/** cyrb128: four 32-bit words from a string, enough state for sfc32. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

/** Uniform numbers in [0, 1) from sfc32, seeded by `seed` and `label`. */
export function randomStream(seed: number, label: string): () => number {
  let [a, b, c, d] = hash128(`${seed}:${label}`);
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // let the state mix before the first value is used
  return next;
}

/** Fills `target` with zero-mean uniform values of standard deviation `std`. */
export function fillUniform(target: Float32Array, std: number, random: () => number): void {
  const halfWidth = std * Math.sqrt(3);
  for (let i = 0; i < target.length; i++) target[i] = (random() * 2 - 1) * halfWidth;
}
