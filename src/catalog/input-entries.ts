import type { Readable } from 'node:stream';
import type { Job } from '../contracts/job.js';
import type { BlobStore } from '../storage/blob-store.js';
import {
  type CsvColumns,
  csvColumns,
  type LineProblem,
  manifestFormat,
  parseCsvLine,
  parseJsonlLine,
} from './manifest-lines.js';

// The entries of a catalog job's input, streamed from where the last committed page stopped.
// A prefix resumes with S3's StartAfter; a manifest is read again from the start and the lines
// already committed are skipped (BlobStore has no ranged reads).

export interface InputEntry {
  /** Stored on the job when the page holding this entry commits; the listing resumes after it. */
  readonly cursor: string;
  /** Manifest line number (1-based); undefined for prefix listings. */
  readonly line?: number;
  /** What the entry said, for reports (the key, or the manifest line, cut short). */
  readonly text: string;
  readonly source?: { readonly bucket: string; readonly key: string };
  readonly problem?: LineProblem;
}

/** Largest manifest object read; a bigger one fails the listing as too_large. */
export const maxManifestBytes = 64 * 1024 ** 3;
/** Longest manifest line; longer ones are reported and skipped, never held whole. */
export const maxLineBytes = 8 * 1024;

type CatalogInput = Extract<Job['input'], { prefix: string } | { manifest: unknown }>;

export function isCatalogInput(input: Job['input']): input is CatalogInput {
  return 'prefix' in input || 'manifest' in input;
}

export function inputEntries(
  store: BlobStore,
  input: CatalogInput,
  cursor: string | null,
  signal?: AbortSignal,
): AsyncGenerator<InputEntry> {
  return 'prefix' in input
    ? prefixEntries(store, input.bucket, input.prefix, cursor, signal)
    : manifestEntries(store, input.manifest, cursor === null ? 0 : Number(cursor), signal);
}

async function* prefixEntries(
  store: BlobStore,
  bucket: string,
  prefix: string,
  cursor: string | null,
  signal?: AbortSignal,
): AsyncGenerator<InputEntry> {
  const listing = store.list(bucket, prefix, { ...(cursor === null ? {} : { startAfter: cursor }), signal });
  for await (const blob of listing) {
    // Zero-byte "folder" markers made by consoles are not images: they advance the cursor only.
    if (blob.key.endsWith('/') && blob.size === 0) {
      yield { cursor: blob.key, text: blob.key };
      continue;
    }
    yield { cursor: blob.key, text: blob.key, source: { bucket, key: blob.key } };
  }
}

async function* manifestEntries(
  store: BlobStore,
  manifest: { bucket: string; key: string; format?: 'jsonl' | 'csv' | undefined },
  afterLine: number,
  signal?: AbortSignal,
): AsyncGenerator<InputEntry> {
  const format = manifestFormat(manifest.key, manifest.format);
  const { body } = await store.openRead(manifest.bucket, manifest.key, {
    maxBytes: maxManifestBytes,
    ...(signal ? { signal } : {}),
  });
  let columns: CsvColumns | undefined;
  let line = 0;
  try {
    for await (const { text, tooLong } of lines(body)) {
      line += 1;
      const entry = { cursor: String(line), line, text: text.slice(0, 200) };
      if (tooLong) {
        if (line > afterLine) {
          const message = `is longer than ${maxLineBytes} bytes`;
          yield { ...entry, problem: { code: 'invalid_line', message } };
        }
        continue;
      }
      if (format === 'csv' && columns === undefined && text.trim() !== '') {
        const detected = csvColumns(text);
        columns = detected.columns;
        if (detected.isHeader) {
          if (line > afterLine) yield entry;
          continue;
        }
      }
      if (line <= afterLine) continue;
      const parsed =
        format === 'csv'
          ? parseCsvLine(text, columns ?? { key: 0 }, manifest.bucket)
          : parseJsonlLine(text, manifest.bucket);
      if (parsed.kind === 'source') yield { ...entry, source: { bucket: parsed.bucket, key: parsed.key } };
      else if (parsed.kind === 'problem') yield { ...entry, problem: parsed.problem };
      else yield entry;
    }
  } finally {
    body.destroy();
  }
}

/** Splits a byte stream at "\n" into UTF-8 lines, never holding more than maxLineBytes of one line. */
export async function* lines(
  body: Readable | AsyncIterable<Buffer>,
): AsyncGenerator<{ text: string; tooLong: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  const take = () => {
    const text = Buffer.concat(pending).toString('utf8');
    const result = { text, tooLong };
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    return result;
  };
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      if (!tooLong) {
        pending.push(chunk.subarray(start, newline));
        pendingBytes += newline - start;
        if (pendingBytes > maxLineBytes) {
          tooLong = true;
          pending = [];
        }
      }
      yield take();
      start = newline + 1;
    }
    if (start < chunk.length && !tooLong) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) {
        tooLong = true;
        pending = [];
      }
    }
  }
  if (pendingBytes > 0 || tooLong) yield take();
}
