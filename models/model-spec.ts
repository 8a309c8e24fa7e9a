// What a model is, as types: the data in models/registry.ts and the code in src/models both use
// these. They live beside the data because src/models imports models/, never the reverse.
import type { Topology } from './synth/index.js';

/** Topologies our own builder can synthesise (models/synth/) when real weights are absent. */
export type SyntheticTopology = Topology;

/** What running a model needs: its name and its pre- and post-processing. */
export interface ModelProfile {
  /** Registry name, as in `clearcut models pull NAME` and a job's `model` field. */
  readonly name: string;
  /** The model takes square inputs of this side (320 or 1024). */
  readonly inputSize: number;
  /** Per-channel (R, G, B) normalisation applied after dividing by the image's max value. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /** Which output holds the mask (its first channel). */
  readonly outputIndex: number;
  /** Stand-in topology used when the weights are absent; none means the model must be pulled. */
  readonly synthetic?: SyntheticTopology;
  /**
   * ONNX Runtime's CPU memory arena under CLEARCUT_ORT_MEMORY_ARENA=auto (absent: off), chosen per
   * family by measurement (docs/worker.md, Memory).
   */
  readonly ortMemoryArena?: boolean;
}

/** A published model: downloaded by `models pull` and verified against its pinned checksum. */
export interface ModelSpec extends ModelProfile {
  /** File name inside the model directory (and the last segment of `url`). */
  readonly file: string;
  /** Lowercase hex SHA-256 of the published file. */
  readonly sha256: string;
  /** Lowercase hex MD5 as pinned by rembg's source; kept for cross-checking. */
  readonly md5: string;
  readonly url: string;
  /**
   * What serving this model adds to a worker's memory at its peak, in MiB: the measured peak RSS
   * of its ONNX Runtime session at 2 threads (bench:pipeline, bench:peer; docs/worker.md, Sizing).
   * Its int8 variant is counted at this figure too (an upper bound). A worker refuses to start when its memory limit is below its base plus its models' figures.
   */
  readonly sessionMemoryMiB: number;
}
