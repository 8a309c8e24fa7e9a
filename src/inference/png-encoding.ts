// PNG encoder settings as a named trade-off between CPU time and bytes (CLEARCUT_PNG_EFFORT).
// Measured on six 2000×2000 photo cutouts (docs/worker.md, "PNG effort"): CPU ms and MB per cutout,
// fastest 53 / 5.4, fast 132 / 3.6, balanced 167 / 2.2, smallest 315 / 2.0. Adaptive row filtering
// is what makes photo PNGs small; zlib-ng's level 1 ("quick") is 3–6× cheaper than level 3.
import type { PngOptions } from 'sharp';

export const pngEfforts = ['fastest', 'fast', 'balanced', 'smallest'] as const;
export type PngEffort = (typeof pngEfforts)[number];

/** The default of CLEARCUT_PNG_EFFORT and of library calls that name none: chosen by bench:pipeline. */
export const defaultPngEffort: PngEffort = 'fast';

const settings: Readonly<Record<PngEffort, PngOptions>> = {
  fastest: { compressionLevel: 1, adaptiveFiltering: false },
  fast: { compressionLevel: 1, adaptiveFiltering: true },
  balanced: { compressionLevel: 3, adaptiveFiltering: true },
  smallest: { compressionLevel: 6, adaptiveFiltering: true },
};

export function pngSettings(effort: PngEffort): PngOptions {
  return settings[effort];
}
