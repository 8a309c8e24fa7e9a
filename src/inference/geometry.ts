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
    // From each end inwards: the row's middle is never read once both ends are found.
    let first = 0;
    while (first < width && alpha[row + first]! < threshold) first++;
    if (first === width) continue;
    let last = width - 1;
    while (alpha[row + last]! < threshold) last--;
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
  const layout = canvasLayout(subject, { aspect: 1, minSide, fill, position: 'center' }, maxSize);
  return { side: layout.width, subject: layout.subject };
}

/** A canvas of exact size, or of an aspect ratio (width / height) sized around the subject. */
export type CanvasShape = (
  | { readonly width: number; readonly height: number }
  | { readonly aspect: number; readonly minSide?: number | undefined }
) & {
  /** Share of the canvas the subject box fills along its tighter direction. */
  readonly fill: number;
  /** center, or bottom: centred across, standing on the lower margin. */
  readonly position: 'center' | 'bottom';
};

export interface CanvasLayout {
  readonly width: number;
  readonly height: number;
  /** Size the subject box is scaled to, and where it goes on the canvas. */
  readonly subject: Box;
}

/**
 * Where the subject box goes on a canvas. A fixed canvas (scaled down to `maxSize`) takes the
 * subject scaled to fill `fill` of it. An aspect canvas is sized so the subject fills `fill` of it
 * at its own pixels, unless the shorter side must grow to `minSide` (the subject is enlarged) or
 * the longer side shrink to `maxSize`. The margin left at the bottom by `position: bottom` is the
 * one a centred subject would have with the box filling `fill` of the height.
 */
export function canvasLayout(subject: Size, shape: CanvasShape, maxSize?: number): CanvasLayout {
  const { fill } = shape;
  let width: number;
  let height: number;
  let natural = false;
  if ('aspect' in shape) {
    const { aspect } = shape;
    const naturalHeight = Math.ceil(Math.max(subject.height, subject.width / aspect) / fill);
    const minSide = shape.minSide ?? 0;
    height = Math.max(naturalHeight, aspect >= 1 ? minSide : Math.ceil(minSide / aspect));
    if (maxSize !== undefined)
      height = Math.min(height, aspect >= 1 ? Math.floor(maxSize / aspect) : maxSize);
    height = Math.max(1, height);
    width = Math.max(1, Math.round(aspect * height));
    natural = height === naturalHeight;
  } else {
    ({ width, height } = fitInside(shape, maxSize));
  }
  const scale = natural ? 1 : Math.min((fill * width) / subject.width, (fill * height) / subject.height);
  const w = Math.max(1, Math.min(width, Math.round(subject.width * scale)));
  const h = Math.max(1, Math.min(height, Math.round(subject.height * scale)));
  const left = Math.floor((width - w) / 2);
  const top =
    shape.position === 'bottom'
      ? Math.max(0, height - h - Math.floor((height - Math.round(fill * height)) / 2))
      : Math.floor((height - h) / 2);
  return { width, height, subject: { left, top, width: w, height: h } };
}
