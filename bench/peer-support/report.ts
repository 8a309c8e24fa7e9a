// The peer benchmark's tables: per image, per composite against the truth, and a summary per variant.
import { type MaskAgreement, meanAgreement } from '../quality/metrics.js';
import { markdownTable, median } from '../support/results.js';

export interface SideTimes {
  readonly totalMs: number;
  readonly modelMs: number;
  readonly maxRssMiB: number;
}

export interface ImageRecord {
  readonly variant: string;
  readonly image: string;
  readonly kind: 'photo' | 'composite';
  readonly width: number;
  readonly height: number;
  readonly ours: SideTimes;
  readonly peer: SideTimes;
  /** Our mask against the peer's. */
  readonly agreement: MaskAgreement;
  /** Our engine with mean 0.5 against the peer, and our two normalisations against each other. */
  readonly altAgreement?: MaskAgreement;
  readonly oursVsAlt?: MaskAgreement;
  readonly truth?: {
    readonly ours: MaskAgreement;
    readonly peer: MaskAgreement;
    readonly alt?: MaskAgreement;
  };
}

export interface RunnerInfo {
  readonly variant: string;
  readonly side: 'ours' | 'peer';
  readonly description: string;
  /** Process start to the first image's cutout (model load included on both sides). */
  readonly coldStartMs: number;
}

export interface VariantSummary {
  readonly variant: string;
  readonly images: number;
  readonly oursMedianMs: number;
  readonly peerMedianMs: number;
  /** Peer time / our time, of the medians: above 1 means ClearCut is faster. */
  readonly speedRatio: number;
  readonly oursModelMedianMs: number;
  readonly peerModelMedianMs: number;
  readonly oursPeakRssMiB: number;
  readonly peerPeakRssMiB: number;
  readonly agreement: MaskAgreement;
  readonly altAgreement?: MaskAgreement;
  readonly truth?: {
    readonly ours: MaskAgreement;
    readonly peer: MaskAgreement;
    readonly alt?: MaskAgreement;
  };
}

const ms = (value: number) => Math.round(value);
const fixed = (value: number, digits = 4) => Number(value.toFixed(digits));

export function printReport(
  records: readonly ImageRecord[],
  runners: readonly RunnerInfo[],
): VariantSummary[] {
  console.log('\n## Per image (end to end = source bytes → PNG cutout)\n');
  console.log(
    markdownTable([
      [
        'variant',
        'image',
        'size',
        'ours ms',
        'peer ms',
        'peer/ours',
        'ours model ms',
        'peer model ms',
        'RSS ours MiB',
        'RSS peer MiB',
        'IoU',
        'MAE',
      ],
      ...records.map((r) => [
        r.variant,
        r.image,
        `${r.width}×${r.height}`,
        ms(r.ours.totalMs),
        ms(r.peer.totalMs),
        fixed(r.peer.totalMs / r.ours.totalMs, 2),
        ms(r.ours.modelMs),
        ms(r.peer.modelMs),
        r.ours.maxRssMiB,
        r.peer.maxRssMiB,
        fixed(r.agreement.iou),
        fixed(r.agreement.mae),
      ]),
    ]),
  );
  const composites = records.filter((r) => r.truth);
  if (composites.length > 0) {
    const hasAlt = composites.some((r) => r.truth?.alt);
    console.log('\n## Composites against the true alpha\n');
    console.log(
      markdownTable([
        [
          'variant',
          'image',
          'IoU ours',
          'IoU peer',
          'MAE ours',
          'MAE peer',
          ...(hasAlt ? ['IoU ours mean 0.5', 'MAE ours mean 0.5'] : []),
        ],
        ...composites.map((r) => [
          r.variant,
          r.image,
          fixed(r.truth!.ours.iou),
          fixed(r.truth!.peer.iou),
          fixed(r.truth!.ours.mae),
          fixed(r.truth!.peer.mae),
          ...(hasAlt ? [fixed(r.truth!.alt?.iou ?? Number.NaN), fixed(r.truth!.alt?.mae ?? Number.NaN)] : []),
        ]),
      ]),
    );
  }
  const summaries = [...new Set(records.map((r) => r.variant))].map((variant) =>
    summarise(
      variant,
      records.filter((r) => r.variant === variant),
    ),
  );
  console.log('\n## Summary per variant (medians of times; means of scores)\n');
  console.log(
    markdownTable([
      [
        'variant',
        'images',
        'ours ms',
        'peer ms',
        'peer/ours',
        'ours model ms',
        'peer model ms',
        'peak RSS ours',
        'peak RSS peer',
        'IoU vs peer',
        'MAE vs peer',
        'truth IoU ours',
        'truth IoU peer',
        'truth MAE ours',
        'truth MAE peer',
      ],
      ...summaries.map((s) => [
        s.variant,
        s.images,
        ms(s.oursMedianMs),
        ms(s.peerMedianMs),
        fixed(s.speedRatio, 2),
        ms(s.oursModelMedianMs),
        ms(s.peerModelMedianMs),
        s.oursPeakRssMiB,
        s.peerPeakRssMiB,
        fixed(s.agreement.iou),
        fixed(s.agreement.mae),
        fixed(s.truth?.ours.iou ?? Number.NaN),
        fixed(s.truth?.peer.iou ?? Number.NaN),
        fixed(s.truth?.ours.mae ?? Number.NaN),
        fixed(s.truth?.peer.mae ?? Number.NaN),
      ]),
    ]),
  );
  const withAlt = summaries.filter((s) => s.altAgreement);
  if (withAlt.length > 0) {
    console.log('\n## Normalisation: registry (mean 0.485/0.456/0.406) vs IS-Net (mean 0.5), std 1 both\n');
    console.log(
      markdownTable([
        ['variant', 'mean', 'IoU vs peer', 'MAE vs peer', 'truth IoU', 'truth MAE'],
        ...withAlt.flatMap((s) => [
          [
            s.variant,
            '0.485/0.456/0.406',
            fixed(s.agreement.iou),
            fixed(s.agreement.mae),
            fixed(s.truth?.ours.iou ?? Number.NaN),
            fixed(s.truth?.ours.mae ?? Number.NaN),
          ],
          [
            s.variant,
            '0.5',
            fixed(s.altAgreement!.iou),
            fixed(s.altAgreement!.mae),
            fixed(s.truth?.alt?.iou ?? Number.NaN),
            fixed(s.truth?.alt?.mae ?? Number.NaN),
          ],
        ]),
      ]),
    );
  }
  console.log('\n## Cold start (process start → first cutout)\n');
  console.log(
    markdownTable([
      ['variant', 'side', 'ms', 'what ran'],
      ...runners.map((r) => [r.variant, r.side, ms(r.coldStartMs), r.description]),
    ]),
  );
  return summaries;
}

function summarise(variant: string, records: readonly ImageRecord[]): VariantSummary {
  const composites = records.filter((r) => r.truth);
  const alts = records.flatMap((r) => (r.altAgreement ? [r.altAgreement] : []));
  const oursMedianMs = median(records.map((r) => r.ours.totalMs));
  const peerMedianMs = median(records.map((r) => r.peer.totalMs));
  return {
    variant,
    images: records.length,
    oursMedianMs,
    peerMedianMs,
    speedRatio: peerMedianMs / oursMedianMs,
    oursModelMedianMs: median(records.map((r) => r.ours.modelMs)),
    peerModelMedianMs: median(records.map((r) => r.peer.modelMs)),
    oursPeakRssMiB: Math.max(...records.map((r) => r.ours.maxRssMiB)),
    peerPeakRssMiB: Math.max(...records.map((r) => r.peer.maxRssMiB)),
    agreement: meanAgreement(records.map((r) => r.agreement)),
    ...(alts.length > 0 && { altAgreement: meanAgreement(alts) }),
    ...(composites.length > 0 && {
      truth: {
        ours: meanAgreement(composites.map((r) => r.truth!.ours)),
        peer: meanAgreement(composites.map((r) => r.truth!.peer)),
        ...(composites.some((r) => r.truth?.alt) && {
          alt: meanAgreement(composites.flatMap((r) => (r.truth?.alt ? [r.truth.alt] : []))),
        }),
      },
    }),
  };
}
