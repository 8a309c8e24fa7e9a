// What `clearcut models import --custom` records beside weights that are not the published file:
// resolveModel then accepts exactly that file (by sha256) as the family's weights, unverified.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface CustomRecord {
  /** The registry model whose pre- and post-processing the file uses. */
  readonly family: string;
  readonly sha256: string;
  readonly size: number;
  readonly importedFrom: string;
  readonly importedAt: string;
}

/** `.u2net.onnx.custom.json` beside the weights: hidden, so never mistaken for a model. */
export function customRecordPath(weights: string): string {
  return join(dirname(weights), `.${basename(weights)}.custom.json`);
}

export async function readCustomRecord(weights: string): Promise<CustomRecord | undefined> {
  try {
    return JSON.parse(await readFile(customRecordPath(weights), 'utf8')) as CustomRecord;
  } catch {
    return undefined; // absent or unreadable: the file is no recorded custom import
  }
}

/** Temp + rename; `undefined` removes the record (the published file is installed again). */
export async function writeCustomRecord(weights: string, record: CustomRecord | undefined): Promise<void> {
  const path = customRecordPath(weights);
  if (record === undefined) {
    await rm(path, { force: true });
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temporary, path);
}
