// What `clearcut models import --custom` records beside weights that are not the published file:
// resolveModel then accepts exactly that file (by sha256) as the family's weights, unverified.
import { z } from 'zod';
import { readSidecarJson, sidecarJsonPath, writeSidecarJson } from './sidecar-json.js';

const customRecordSchema = z.object({
  /** The registry model whose pre- and post-processing the file uses. */
  family: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
  importedFrom: z.string(),
  importedAt: z.string(),
});

export type CustomRecord = z.infer<typeof customRecordSchema>;

/** `.u2net.onnx.custom.json` beside the weights. */
export function customRecordPath(weights: string): string {
  return sidecarJsonPath(weights, 'custom');
}

/** Undefined when absent, unreadable or malformed: the file is then no recorded custom import. */
export function readCustomRecord(weights: string): Promise<CustomRecord | undefined> {
  return readSidecarJson(weights, 'custom', customRecordSchema);
}

/** `undefined` removes the record (the published file is installed again). */
export function writeCustomRecord(weights: string, record: CustomRecord | undefined): Promise<void> {
  return writeSidecarJson(weights, 'custom', record);
}
