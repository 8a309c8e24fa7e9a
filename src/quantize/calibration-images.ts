// Calibration images: a folder of the user's own photos, or (the default) generated catalog-like
// ones. Generated images vary what drives a segmentation net's activations: a product (bottle,
// box, shoe, mug, bag or garment shapes, with gradients, labels and highlights) on a studio sweep,
// a plain colour or a textured surface (fractal noise: fabric, wood, stone), with a soft shadow,
// some clutter and sensor grain. Seeded, so a variant rebuilt tomorrow is calibrated identically.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { PermanentError } from '../errors.js';
import { type DecodedImage, decodeImage, type ImageLimits } from '../images/decode.js';
import { findLocalImages } from '../images/local-files.js';
import { normalizeForModel, resizeForModel } from '../images/model-input.js';
import { seededRandom } from '../seeded-random.js';
import type { CalibrationInput } from './calibrate.js';

export interface ModelInputProfile {
  readonly inputSize: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** The images as model inputs, pre-processed exactly as the engine does. */
export async function calibrationInputs(
  images: readonly DecodedImage[],
  profile: ModelInputProfile,
): Promise<CalibrationInput[]> {
  const size = profile.inputSize;
  const dims = [1, 3, size, size];
  return Promise.all(
    images.map(async (image) => ({
      data: normalizeForModel(await resizeForModel(image, size), size, profile),
      dims,
    })),
  );
}

/** Every JPEG, PNG and WebP under `dir` (recursively), decoded; refuses a folder without any. */
export async function imagesInFolder(dir: string, limits: ImageLimits): Promise<DecodedImage[]> {
  const found = await findLocalImages([dir]);
  if (found.missing.length > 0) {
    throw new PermanentError(
      'calibration_images_missing',
      `--calibration ${dir}: ${found.missing[0]!.reason}`,
    );
  }
  if (found.sources.length === 0) {
    throw new PermanentError(
      'calibration_images_missing',
      `--calibration ${dir}: no JPEG, PNG or WebP images in that folder; put 8 to 32 photos like the ones you will process there.`,
    );
  }
  return Promise.all(found.sources.map(async ({ path }) => decodeImage(await readFile(path), limits)));
}

/** `count` generated catalog-like images, the same for the same `seed`. */
export async function generatedImages(count: number, seed = 1): Promise<DecodedImage[]> {
  const images: DecodedImage[] = [];
  for (let index = 0; index < count; index++) images.push(await catalogImage(seed * 7919 + index));
  return images;
}

const shapes = ['bottle', 'box', 'shoe', 'mug', 'bag', 'shirt', 'person'] as const;
type Shape = (typeof shapes)[number];
const sizes: readonly [number, number][] = [
  [1000, 1000],
  [1200, 900],
  [900, 1200],
  [800, 800],
];

async function catalogImage(seed: number): Promise<DecodedImage> {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (low: number, high: number) => low + random() * (high - low);
  const [width, height] = pick(sizes);
  const hue = () => Math.floor(random() * 360);
  const cx = width * between(0.35, 0.65);
  const cy = height * between(0.4, 0.6);
  const scale = Math.min(width, height) * between(0.18, 0.4);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs>
    <linearGradient id="sweep" x1="0" y1="0" x2="${between(0, 0.5).toFixed(2)}" y2="1">
      <stop offset="0" stop-color="hsl(${hue()},${Math.floor(between(0, 30))}%,${Math.floor(between(55, 98))}%)"/>
      <stop offset="1" stop-color="hsl(${hue()},${Math.floor(between(0, 30))}%,${Math.floor(between(30, 90))}%)"/>
    </linearGradient>
    <linearGradient id="body" x1="0" y1="0" x2="1" y2="${between(0, 0.6).toFixed(2)}">
      <stop offset="0" stop-color="hsl(${hue()},${Math.floor(between(5, 80))}%,${Math.floor(between(15, 60))}%)"/>
      <stop offset="${between(0.3, 0.6).toFixed(2)}" stop-color="hsl(${hue()},${Math.floor(between(5, 80))}%,${Math.floor(between(35, 90))}%)"/>
      <stop offset="1" stop-color="hsl(${hue()},${Math.floor(between(5, 70))}%,${Math.floor(between(10, 45))}%)"/>
    </linearGradient>
    <filter id="surface"><feTurbulence type="fractalNoise" baseFrequency="${between(0.003, 0.06).toFixed(4)}" numOctaves="5" seed="${seed % 997}"/>
      <feColorMatrix type="saturate" values="${between(0, 0.7).toFixed(2)}"/></filter>
    <filter id="material"><feTurbulence type="${random() < 0.5 ? 'turbulence' : 'fractalNoise'}" baseFrequency="${between(0.01, 0.2).toFixed(3)}" numOctaves="3" seed="${(seed + 1) % 997}" result="noise"/>
      <feColorMatrix in="noise" type="saturate" values="0" result="grey"/>
      <feComposite in="grey" in2="SourceGraphic" operator="in" result="texture"/>
      <feBlend in="SourceGraphic" in2="texture" mode="multiply"/></filter>
    <filter id="defocus"><feGaussianBlur stdDeviation="${between(0, 10).toFixed(1)}"/></filter>
    <filter id="shadow"><feGaussianBlur stdDeviation="${Math.round(scale / 10)}"/></filter>
  </defs>
  <g filter="url(#defocus)">
    ${backdrop(random, width, height)}
    ${clutter(random, width, height, hue)}
  </g>
  <ellipse cx="${cx}" cy="${cy + scale * 1.05}" rx="${scale * between(0.6, 1.1)}" ry="${scale * 0.12}" fill="#000" opacity="${between(0.1, 0.5).toFixed(2)}" filter="url(#shadow)"/>
  <g filter="url(#material)" opacity="${between(0.85, 1).toFixed(2)}">${product(pick(shapes), cx, cy, scale, hue(), hue())}</g>
  <ellipse cx="${cx - scale * 0.25}" cy="${cy - scale * 0.3}" rx="${scale * 0.08}" ry="${scale * 0.35}" fill="#fff" opacity="${between(0, 0.35).toFixed(2)}"/>
</svg>`;
  const grain = Buffer.alloc(width * height);
  const amplitude = between(4, 28);
  for (let index = 0; index < grain.length; index++) {
    grain[index] = 128 + Math.round((random() + random() + random() - 1.5) * amplitude);
  }
  const grainPng = await sharp(grain, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
  // Through a camera's softness and a JPEG encoder, as catalog uploads are.
  const jpeg = await sharp(Buffer.from(svg))
    .composite([{ input: grainPng, blend: 'soft-light' }])
    .removeAlpha()
    .blur(between(0.4, 1.2))
    .jpeg({ quality: Math.round(between(70, 95)) })
    .toBuffer();
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, pixels: data, format: 'jpeg' };
}

function backdrop(random: () => number, width: number, height: number): string {
  const texture = `<rect width="${width}" height="${height}" filter="url(#surface)" opacity="${(0.1 + random() * 0.8).toFixed(2)}"/>`;
  const kind = random();
  if (kind < 0.35)
    return `<rect width="${width}" height="${height}" fill="url(#sweep)"/>${random() < 0.5 ? texture : ''}`;
  if (kind < 0.5) {
    const light = 90 + Math.floor(random() * 10);
    return `<rect width="${width}" height="${height}" fill="hsl(0,0%,${light}%)"/>`;
  }
  // A room or a surface: a wall and a table top or floor, textured.
  const horizon = height * (0.4 + random() * 0.3);
  return `<rect width="${width}" height="${height}" fill="url(#sweep)"/>
    ${texture}
    <rect y="${horizon}" width="${width}" height="${height - horizon}" fill="hsl(${Math.floor(random() * 60)},${Math.floor(random() * 40)}%,${20 + Math.floor(random() * 50)}%)" opacity="${(0.5 + random() * 0.5).toFixed(2)}"/>`;
}

function clutter(random: () => number, width: number, height: number, hue: () => number): string {
  const items: string[] = [];
  const count = Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const x = random() * width;
    const y = random() * height;
    const r = Math.min(width, height) * (0.02 + random() * 0.12);
    const fill = `hsl(${hue()},${Math.floor(random() * 60)}%,${20 + Math.floor(random() * 60)}%)`;
    items.push(
      random() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}" opacity="0.85"/>`
        : `<rect x="${x}" y="${y}" width="${r * 2}" height="${r * (1 + random() * 3)}" fill="${fill}" opacity="0.85"/>`,
    );
  }
  return items.join('\n    ');
}

function product(shape: Shape, cx: number, cy: number, s: number, labelHue: number, skinHue: number): string {
  const label = `<rect x="${cx - s * 0.3}" y="${cy - s * 0.1}" width="${s * 0.6}" height="${s * 0.3}" fill="hsl(${labelHue},60%,90%)"/>
  <text x="${cx}" y="${cy + s * 0.1}" font-family="sans-serif" font-size="${s * 0.12}" text-anchor="middle" fill="#222">ClearCut</text>`;
  switch (shape) {
    case 'bottle':
      return `<rect x="${cx - s * 0.35}" y="${cy - s * 0.5}" width="${s * 0.7}" height="${s * 1.5}" rx="${s * 0.15}" fill="url(#body)"/>
  <rect x="${cx - s * 0.12}" y="${cy - s * 0.95}" width="${s * 0.24}" height="${s * 0.5}" fill="url(#body)"/>${label}`;
    case 'box':
      return `<polygon points="${cx - s * 0.7},${cy - s * 0.4} ${cx + s * 0.4},${cy - s * 0.5} ${cx + s * 0.8},${cy - s * 0.2} ${cx + s * 0.8},${cy + s} ${cx - s * 0.3},${cy + s * 1.05} ${cx - s * 0.7},${cy + s * 0.8}" fill="url(#body)"/>${label}`;
    case 'shoe':
      return `<path d="M ${cx - s} ${cy + s * 0.8} Q ${cx - s} ${cy} ${cx - s * 0.3} ${cy - s * 0.1} L ${cx + s * 0.2} ${cy + s * 0.3} Q ${cx + s} ${cy + s * 0.4} ${cx + s} ${cy + s * 0.9} Z" fill="url(#body)"/>
  <rect x="${cx - s}" y="${cy + s * 0.8}" width="${s * 2}" height="${s * 0.15}" fill="#eee"/>`;
    case 'mug':
      return `<rect x="${cx - s * 0.5}" y="${cy - s * 0.4}" width="${s}" height="${s * 1.3}" rx="${s * 0.08}" fill="url(#body)"/>
  <ellipse cx="${cx + s * 0.6}" cy="${cy + s * 0.2}" rx="${s * 0.25}" ry="${s * 0.35}" fill="none" stroke="url(#body)" stroke-width="${s * 0.12}"/>${label}`;
    case 'bag':
      return `<path d="M ${cx - s * 0.8} ${cy - s * 0.2} L ${cx + s * 0.8} ${cy - s * 0.2} L ${cx + s * 0.95} ${cy + s} L ${cx - s * 0.95} ${cy + s} Z" fill="url(#body)"/>
  <path d="M ${cx - s * 0.4} ${cy - s * 0.2} Q ${cx} ${cy - s * 1.1} ${cx + s * 0.4} ${cy - s * 0.2}" fill="none" stroke="#333" stroke-width="${s * 0.06}"/>`;
    case 'person': {
      const skin = `hsl(${20 + (skinHue % 20)},${35 + (skinHue % 30)}%,${30 + (skinHue % 45)}%)`;
      return `<ellipse cx="${cx}" cy="${cy - s * 1.05}" rx="${s * 0.22}" ry="${s * 0.28}" fill="${skin}"/>
  <rect x="${cx - s * 0.08}" y="${cy - s * 0.8}" width="${s * 0.16}" height="${s * 0.15}" fill="${skin}"/>
  <path d="M ${cx - s * 0.45} ${cy - s * 0.7} L ${cx + s * 0.45} ${cy - s * 0.7} L ${cx + s * 0.55} ${cy + s * 0.4} L ${cx + s * 0.35} ${cy + s * 1.1} L ${cx - s * 0.35} ${cy + s * 1.1} L ${cx - s * 0.55} ${cy + s * 0.4} Z" fill="url(#body)"/>
  <rect x="${cx - s * 0.75}" y="${cy - s * 0.65}" width="${s * 0.2}" height="${s * 0.95}" rx="${s * 0.1}" fill="${skin}"/>
  <rect x="${cx + s * 0.55}" y="${cy - s * 0.65}" width="${s * 0.2}" height="${s * 0.95}" rx="${s * 0.1}" fill="${skin}"/>`;
    }
    case 'shirt':
      return `<path d="M ${cx - s * 0.4} ${cy - s * 0.8} L ${cx - s} ${cy - s * 0.4} L ${cx - s * 0.8} ${cy} L ${cx - s * 0.55} ${cy - s * 0.15} L ${cx - s * 0.55} ${cy + s} L ${cx + s * 0.55} ${cy + s} L ${cx + s * 0.55} ${cy - s * 0.15} L ${cx + s * 0.8} ${cy} L ${cx + s} ${cy - s * 0.4} L ${cx + s * 0.4} ${cy - s * 0.8} Q ${cx} ${cy - s * 0.55} ${cx - s * 0.4} ${cy - s * 0.8} Z" fill="url(#body)"/>`;
  }
}
