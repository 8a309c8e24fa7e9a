// Hidden JSON records beside a model file (`.u2net.onnx.custom.json`, `.u2net-int8.onnx.quantized.json`):
// hidden so they are never mistaken for a model, replaced whole so a reader never sees half of one.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';

/** `.<file>.<kind>.json` beside `path`. */
export function sidecarJsonPath(path: string, kind: string): string {
  return join(dirname(path), `.${basename(path)}.${kind}.json`);
}

/** The record, or undefined when it is absent, unreadable or not of `schema`'s shape. */
export async function readSidecarJson<T>(
  path: string,
  kind: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(sidecarJsonPath(path, kind), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Temp + rename; `undefined` removes the record. */
export async function writeSidecarJson(path: string, kind: string, value: unknown): Promise<void> {
  const target = sidecarJsonPath(path, kind);
  if (value === undefined) {
    await rm(target, { force: true });
    return;
  }
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, target);
}
