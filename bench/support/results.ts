// What every benchmark records next to its numbers, where it writes them, and how it prints tables.
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const require = createRequire(import.meta.url);

export interface MachineInfo {
  readonly availableParallelism: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** Load when the run started: the machine may be shared, and numbers are only as quiet as it was. */
  readonly loadAverage1m: number;
  readonly node: string;
  readonly onnxruntime: string;
  readonly sharp: string;
  readonly libvips: string;
}

export function machineInfo(): MachineInfo {
  return {
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    node: process.version,
    onnxruntime: (require('onnxruntime-node/package.json') as { version: string }).version,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
  };
}

/** Writes `bench/results/<name>-<timestamp>.json` (git-ignored) and returns its path. */
export async function writeResults(name: string, data: Record<string, unknown>): Promise<string> {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = `${dir}${name}-${stamp}.json`;
  await writeFile(path, `${JSON.stringify({ machine: machineInfo(), ...data }, null, 2)}\n`);
  return path;
}

/** A Markdown table: the first row is the header; numbers are right-aligned. */
export function markdownTable(rows: readonly (readonly (string | number)[])[]): string {
  const text = rows.map((row) => row.map(String));
  const widths = text[0]!.map((_, column) => Math.max(...text.map((row) => row[column]?.length ?? 0)));
  const numeric = (column: number) => rows.slice(1).every((row) => typeof row[column] === 'number');
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => (numeric(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (numeric(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [line(text[0]!), rule, ...text.slice(1).map(line)].join('\n');
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
