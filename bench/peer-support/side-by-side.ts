// One picture per image for a person to look at: source | our cutout | the peer's cutout, cutouts
// over a checkerboard so both holes and halos show, and the true mask last when it is known.
import sharp, { type OverlayOptions } from 'sharp';

export interface SideBySideInput {
  readonly source: Uint8Array;
  readonly ours: Uint8Array;
  readonly peer: Uint8Array;
  /** Ground-truth alpha at the source's size, for composites. */
  readonly truth?: { readonly alpha: Uint8Array; readonly width: number; readonly height: number };
}

const panelHeight = 480;
const gap = 8;
const labelHeight = 28;

export async function sideBySide(input: SideBySideInput): Promise<Buffer> {
  const panels = [
    { label: 'source', image: await panel(input.source, false) },
    { label: 'ClearCut', image: await panel(input.ours, true) },
    { label: 'peer', image: await panel(input.peer, true) },
  ];
  if (input.truth) {
    const { alpha, width, height } = input.truth;
    const mask = await sharp(alpha, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    panels.push({ label: 'true mask', image: await panel(mask, false) });
  }
  const width = panels.reduce((sum, { image }) => sum + image.width, 0) + gap * (panels.length - 1);
  const layers: OverlayOptions[] = [];
  let left = 0;
  for (const { label, image } of panels) {
    layers.push({ input: image.data, left, top: labelHeight });
    layers.push({ input: Buffer.from(caption(label, image.width)), left, top: 0 });
    left += image.width + gap;
  }
  return sharp({ create: { width, height: panelHeight + labelHeight, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png({ compressionLevel: 6 })
    .toBuffer();
}

async function panel(bytes: Uint8Array, overCheckerboard: boolean): Promise<{ data: Buffer; width: number }> {
  const scaled = await sharp(bytes)
    .resize({ height: panelHeight, kernel: 'lanczos3' })
    .toBuffer({ resolveWithObject: true });
  const { width } = scaled.info;
  if (!overCheckerboard)
    return { data: await sharp(scaled.data).flatten({ background: '#ffffff' }).png().toBuffer(), width };
  const data = await sharp(Buffer.from(checkerboard(width, panelHeight)))
    .composite([{ input: scaled.data }])
    .flatten()
    .png()
    .toBuffer();
  return { data, width };
}

function checkerboard(width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><pattern id="c" width="24" height="24" patternUnits="userSpaceOnUse"><rect width="24" height="24" fill="#ffffff"/><rect width="12" height="12" fill="#c8c8c8"/><rect x="12" y="12" width="12" height="12" fill="#c8c8c8"/></pattern></defs><rect width="100%" height="100%" fill="url(#c)"/></svg>`;
}

function caption(text: string, width: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${labelHeight}"><text x="6" y="20" font-family="DejaVu Sans, sans-serif" font-size="16" fill="#222">${text}</text></svg>`;
}
