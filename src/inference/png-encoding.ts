// PNG encoder settings as a named trade-off between CPU time and bytes (CLEARCUT_PNG_EFFORT).
// Measured on six 2000×2000 photo cutouts (docs/worker.md, "PNG effort"): CPU ms and MB per cutout,
// fastest 53 / 5.4, balanced 167 / 2.2, smallest 315 / 2.0. Adaptive row filtering is what makes
// photo PNGs small. Level 1 with adaptive filters (132 / 3.6) and level 3 without (96 / 4.1) were
// measured too and left out: each costs more bytes per CPU-millisecond saved than `fastest`.
import type { PngOptions } from 'sharp';

export const pngEfforts = ['fastest', 'balanced', 'smallest'] as const;
export type PngEffort = (typeof pngEfforts)[number];

/**
 * The default of CLEARCUT_PNG_EFFORT and of library calls that name none. `fastest` saves ~115 ms
 * of CPU per 2000² cutout (~5 % of a U²-Net image's CPU) but makes files 2.5× larger, which costs
 * more in storage and transfer within a month than the CPU it saves (docs/worker.md, PNG effort).
 */
export const defaultPngEffort: PngEffort = 'balanced';

const settings: Readonly<Record<PngEffort, PngOptions>> = {
  fastest: { compressionLevel: 1, adaptiveFiltering: false },
  balanced: { compressionLevel: 3, adaptiveFiltering: true },
  smallest: { compressionLevel: 6, adaptiveFiltering: true },
};

export function pngSettings(effort: PngEffort): PngOptions {
  return settings[effort];
}
