// Where the subject is and where each rendition puts it: pure arithmetic on boxes and masks.

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * Alpha from which a pixel counts as subject when trimming. Low enough to keep wisps of hair, high
 * enough to ignore the faint ringing Lanczos leaves around hard edges and the model's noise floor.
 */
export const subjectAlphaThreshold = 16;

/** The smallest box holding every pixel whose alpha is at least `threshold`; undefined if none. */
export function subjectBox(
  alpha: Uint8Array,
  width: number,
  height: number,
  threshold = subjectAlphaThreshold,
): Box | undefined {
  let left = width;
  let right = -1;
  let top = -1;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (alpha[row + x]! >= threshold) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (top < 0) top = y;
    bottom = y;
    if (first < left) left = first;
    if (last > right) right = last;
  }
  if (top < 0) return undefined;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** A margin in pixels: whole pixels as given, or "p%" of the box's longer side (rounded). */
export function marginPixels(margin: number | string, box: Size): number {
  if (typeof margin === 'number') return margin;
  const percent = Number.parseFloat(margin);
  return Math.round((percent / 100) * Math.max(box.width, box.height));
}

/** `box` grown by `margin` on every side, clamped to the image. */
export function expandBox(box: Box, margin: number, image: Size): Box {
  const left = Math.max(0, box.left - margin);
  const top = Math.max(0, box.top - margin);
  const right = Math.min(image.width, box.left + box.width + margin);
  const bottom = Math.min(image.height, box.top + box.height + margin);
  return { left, top, width: right - left, height: bottom - top };
}

/** `size` scaled down to fit in maxSize × maxSize, keeping its aspect ratio; never enlarged. */
export function fitInside(size: Size, maxSize: number | undefined): Size {
  const longest = Math.max(size.width, size.height);
  if (maxSize === undefined || longest <= maxSize) return size;
  const scale = maxSize / longest;
  return {
    width: Math.max(1, Math.round(size.width * scale)),
    height: Math.max(1, Math.round(size.height * scale)),
  };
}

export interface SquareLayout {
  /** Side of the square canvas. */
  readonly side: number;
  /** Size the subject box is scaled to, and where it goes on the canvas (centred). */
  readonly subject: Box;
}

/**
 * The marketplace main image: a square canvas whose side is chosen so the subject's longer side
 * fills `fill` of it, at least `minSide` px (the subject is enlarged if needed), at most `maxSize`.
 * When neither bound applies the subject keeps its pixels (no resampling).
 */
export function squareLayout(subject: Size, fill: number, minSide: number, maxSize?: number): SquareLayout {
  const longest = Math.max(subject.width, subject.height);
  const natural = Math.ceil(longest / fill);
  let side = Math.max(natural, minSide);
  if (maxSize !== undefined) side = Math.min(side, maxSize);
  const scale = side === natural ? 1 : (fill * side) / longest;
  const width = Math.max(1, Math.min(side, Math.round(subject.width * scale)));
  const height = Math.max(1, Math.min(side, Math.round(subject.height * scale)));
  return {
    side,
    subject: { left: Math.floor((side - width) / 2), top: Math.floor((side - height) / 2), width, height },
  };
}
