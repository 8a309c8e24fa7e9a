// Images whose true alpha is known: subjects (the fixtures horse.png and logo.png, matted from their
// white backdrop, and generated product objects) pasted on real textures (grass, gravel, brick from
// the fixtures, tinted) and on white and grey studio backdrops with a soft contact shadow: the
// "product set". The "soft-edge set" puts subjects whose alpha is genuinely soft (hair, fur, motion
// blur, glass, a veil, spokes, stems: soft-objects.ts) on one busy and one plain backdrop each.
import { join } from 'node:path';
import sharp from 'sharp';
import { subjectBox } from '../../src/inference/geometry.js';
import { matteFromWhite } from './matte.js';
import { productObjects } from './objects.js';
import { softObjects } from './soft-objects.js';

export interface TruthImage {
  readonly name: string;
  /** The composite as a PNG (lossless: the truth stays exact). */
  readonly bytes: Buffer;
  readonly width: number;
  readonly height: number;
  /** The subject's alpha, one byte per pixel. */
  readonly truth: Uint8Array;
  /** The subject's own colour (interleaved RGB, straight): what a decontaminated cutout should show. */
  readonly foreground: Uint8Array;
}

interface Subject {
  readonly name: string;
  /** size × size, interleaved RGBA, straight (not premultiplied) alpha. */
  readonly rgba: Buffer;
}

interface Backdrop {
  readonly name: string;
  readonly rgb: Buffer;
  readonly studio: boolean;
}

const textures = [
  { file: 'grass.png', tint: { r: 70, g: 140, b: 50 } },
  { file: 'gravel.png', tint: { r: 160, g: 140, b: 115 } },
  { file: 'brick.png', tint: { r: 175, g: 80, b: 60 } },
] as const;

/** Subject share of the canvas side: large, as in catalog shots, with room for a shadow. */
const subjectShare = 0.7;

/**
 * Every subject on every backdrop, `size`×`size`. Fixture subjects and textures are used when
 * `fixtureDir` has them; the generated objects and studio backdrops are always there.
 */
export async function buildTruthSet(fixtureDir: string, size = 1024): Promise<TruthImage[]> {
  const backdrops = [...(await textureBackdrops(fixtureDir, size)), ...(await studioBackdrops(size))];
  const images: TruthImage[] = [];
  // Fixture subjects go on every backdrop; each generated object on one, in turn.
  for (const subject of await fixtureSubjects(fixtureDir, size)) {
    for (const backdrop of backdrops) images.push(await composite(subject, backdrop, size));
  }
  for (const [index, subject] of (await objectSubjects(size)).entries()) {
    images.push(await composite(subject, backdrops[index % backdrops.length]!, size));
  }
  return images;
}

/**
 * Each soft-edge subject on one texture and one studio backdrop (in turn), `size`×`size`: drawn at
 * the full size, so strands keep their sub-pixel alpha (no resampling after rendering).
 */
export async function buildSoftEdgeSet(fixtureDir: string, size = 2000): Promise<TruthImage[]> {
  const busy = await textureBackdrops(fixtureDir, size);
  const plain = await studioBackdrops(size);
  const images: TruthImage[] = [];
  for (const [index, object] of softObjects.entries()) {
    const rgba = await sharp(Buffer.from(object.svg(size)))
      .ensureAlpha()
      .raw()
      .toBuffer();
    const subject = { name: object.name, rgba };
    if (busy.length > 0) images.push(await composite(subject, busy[index % busy.length]!, size));
    images.push(await composite(subject, plain[index % plain.length]!, size));
  }
  return images;
}

async function fixtureSubjects(dir: string, size: number): Promise<Subject[]> {
  const subjects: Subject[] = [];
  // The logo's white S reaches the disc's edge: keep white channels under 10 px as subject.
  for (const [name, keepChannelsUnder] of [
    ['horse', 0],
    ['logo', 10],
  ] as const) {
    const decoded = await sharp(join(dir, `${name}.png`))
      .removeAlpha() // fully opaque in these files: the subject is what is not the white backdrop
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch(() => undefined);
    if (!decoded) continue;
    const { width, height } = decoded.info;
    const matte = matteFromWhite(decoded.data, width, height, { keepChannelsUnder });
    const rgba = Buffer.alloc(width * height * 4);
    for (let pixel = 0; pixel < width * height; pixel++) {
      rgba.set(matte.foreground.subarray(pixel * 3, pixel * 3 + 3), pixel * 4);
      rgba[pixel * 4 + 3] = matte.alpha[pixel]!;
    }
    subjects.push({ name, rgba: await placeOnCanvas(rgba, width, height, size) });
  }
  return subjects;
}

async function objectSubjects(size: number): Promise<Subject[]> {
  const side = Math.round(size * subjectShare);
  return Promise.all(
    productObjects.map(async (object) => {
      const { data, info } = await sharp(Buffer.from(object.svg(side)))
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { name: object.name, rgba: await placeOnCanvas(data, info.width, info.height, size) };
    }),
  );
}

/** Scaled to fill `subjectShare` of the canvas and centred; sharp resizes RGBA premultiplied. */
async function placeOnCanvas(rgba: Buffer, width: number, height: number, size: number): Promise<Buffer> {
  const scale = (size * subjectShare) / Math.max(width, height);
  const w = Math.round(width * scale);
  const h = Math.round(height * scale);
  const scaled = await sharp(rgba, { raw: { width, height, channels: 4 } })
    .resize(w, h, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return sharp({
    create: { width: size, height: size, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
  })
    .composite([
      {
        input: scaled,
        raw: { width: w, height: h, channels: 4 },
        left: (size - w) >> 1,
        top: (size - h) >> 1,
      },
    ])
    .raw()
    .toBuffer();
}

async function textureBackdrops(dir: string, size: number): Promise<Backdrop[]> {
  const backdrops: Backdrop[] = [];
  for (const { file, tint } of textures) {
    const grey = await sharp(join(dir, file))
      .resize(size, size, { fit: 'cover', kernel: 'lanczos3' })
      .greyscale()
      .raw()
      .toBuffer()
      .catch(() => undefined);
    if (!grey) continue;
    // The fixtures are grey: colour them as the material is, keeping their texture (mean grey ↦ tint).
    const mean = grey.reduce((sum, value) => sum + value, 0) / grey.length;
    const rgb = Buffer.alloc(grey.length * 3);
    for (let pixel = 0; pixel < grey.length; pixel++) {
      const gain = grey[pixel]! / mean;
      rgb[pixel * 3] = Math.min(255, Math.round(tint.r * gain));
      rgb[pixel * 3 + 1] = Math.min(255, Math.round(tint.g * gain));
      rgb[pixel * 3 + 2] = Math.min(255, Math.round(tint.b * gain));
    }
    backdrops.push({ name: file.replace(/\.png$/, ''), rgb, studio: false });
  }
  return backdrops;
}

async function studioBackdrops(size: number): Promise<Backdrop[]> {
  const sweep = (name: string, centre: string, edge: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs><radialGradient id="${name}" cx="0.5" cy="0.45" r="0.75"><stop offset="0" stop-color="${centre}"/><stop offset="1" stop-color="${edge}"/></radialGradient></defs><rect width="100%" height="100%" fill="url(#${name})"/></svg>`;
  const render = (svg: string) => sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer();
  return [
    { name: 'white-studio', rgb: await render(sweep('white', '#ffffff', '#ececec')), studio: true },
    { name: 'grey-studio', rgb: await render(sweep('grey', '#d8d8d8', '#8f8f8f')), studio: true },
  ];
}

/** out = subject·a + backdrop·(1 − a), per channel in sRGB values, rounded; truth = a. */
async function composite(subject: Subject, backdrop: Backdrop, size: number): Promise<TruthImage> {
  const count = size * size;
  const truth = new Uint8Array(count);
  const foreground = new Uint8Array(count * 3);
  for (let pixel = 0; pixel < count; pixel++) {
    truth[pixel] = subject.rgba[pixel * 4 + 3]!;
    foreground.set(subject.rgba.subarray(pixel * 4, pixel * 4 + 3), pixel * 3);
  }
  const ground = backdrop.studio ? await withShadow(backdrop.rgb, truth, size) : backdrop.rgb;
  const rgb = Buffer.alloc(count * 3);
  for (let pixel = 0; pixel < count; pixel++) {
    const a = truth[pixel]! / 255;
    for (let channel = 0; channel < 3; channel++) {
      const front = subject.rgba[pixel * 4 + channel]!;
      rgb[pixel * 3 + channel] = Math.round(front * a + ground[pixel * 3 + channel]! * (1 - a));
    }
  }
  const bytes = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
  return { name: `${subject.name}-on-${backdrop.name}`, bytes, width: size, height: size, truth, foreground };
}

/** A blurred ellipse under the subject's base, multiplied into the backdrop (it is backdrop, not subject). */
async function withShadow(rgb: Buffer, alpha: Uint8Array, size: number): Promise<Buffer> {
  const box = subjectBox(alpha, size, size);
  if (!box) return rgb;
  const cx = box.left + box.width / 2;
  const cy = box.top + box.height;
  const shadow = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs><filter id="s"><feGaussianBlur stdDeviation="${size / 60}"/></filter></defs><rect width="100%" height="100%" fill="#fff"/><ellipse cx="${cx}" cy="${cy}" rx="${box.width * 0.45}" ry="${size * 0.025}" fill="#777" filter="url(#s)"/></svg>`;
  const layer = await sharp(Buffer.from(shadow)).removeAlpha().raw().toBuffer();
  const out = Buffer.alloc(rgb.length);
  for (let index = 0; index < rgb.length; index++)
    out[index] = Math.round((rgb[index]! * layer[index]!) / 255);
  return out;
}
