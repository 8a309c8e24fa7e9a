// What `models list` reports: each registry model's file on disk, and the synthetic stand-ins built so far.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSpec } from '../../models/model-spec.js';
import { readCustomRecord } from './custom-record.js';
import { fileDigest } from './model-digest.js';
import { listModels, type ModelsConfig, syntheticDir, weightsPath } from './registry.js';

export interface ModelStatus {
  readonly spec: ModelSpec;
  readonly path: string;
  /** Absent when there is no file. */
  readonly size?: number;
  /** Whether the file's SHA-256 is the registry's; absent when there is no file. */
  readonly verified?: boolean;
  /** Not the published file, but the one `models import --custom` installed (used, unverified). */
  readonly custom?: boolean;
}

export interface SyntheticEntry {
  readonly path: string;
  readonly file: string;
  readonly size: number;
}

export async function modelStatuses(config: ModelsConfig): Promise<ModelStatus[]> {
  return Promise.all(
    listModels().map(async (spec) => {
      const path = weightsPath(config, spec);
      const digest = await fileDigest(path);
      if (!digest) return { spec, path };
      const verified = digest.sha256 === spec.sha256;
      const custom = !verified && (await readCustomRecord(path))?.sha256 === digest.sha256;
      return { spec, path, size: digest.size, verified, custom };
    }),
  );
}

export async function syntheticEntries(config: ModelsConfig): Promise<SyntheticEntry[]> {
  const dir = syntheticDir(config);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const models = names.filter((name) => name.endsWith('.onnx') && !name.startsWith('.')).sort();
  return Promise.all(
    models.map(async (file) => {
      const path = join(dir, file);
      return { path, file, size: (await stat(path)).size };
    }),
  );
}
