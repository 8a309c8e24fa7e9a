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
// A prefix resumes with S3's StartAfter; a manifest with a ranged read from the byte after the
// last committed line, so a long manifest is read once, not again from its start every turn.

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
    : manifestEntries(store, input.manifest, manifestCursor(cursor), signal);
}

/** Where a manifest listing stands: lines read, and the byte after the last one. */
interface ManifestCursor {
  readonly line: number;
  /** Absent in cursors written before byte offsets: such a listing reads from the start and skips `line` lines. */
  readonly offset?: number;
  /** A CSV's columns, learnt from its first line, which a resumed read no longer sees. */
  readonly columns?: CsvColumns;
}

function manifestCursor(cursor: string | null): ManifestCursor {
  if (cursor === null) return { line: 0, offset: 0 };
  if (/^\d+$/.test(cursor)) return { line: Number(cursor) };
  return JSON.parse(cursor) as ManifestCursor;
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
  start: ManifestCursor,
  signal?: AbortSignal,
): AsyncGenerator<InputEntry> {
  const format = manifestFormat(manifest.key, manifest.format);
  const resumed = start.offset !== undefined;
  const { body } = await store.openRead(manifest.bucket, manifest.key, {
    maxBytes: maxManifestBytes,
    offset: start.offset ?? 0,
    ...(signal ? { signal } : {}),
  });
  let columns = start.columns;
  let line = resumed ? start.line : 0;
  let offset = start.offset ?? 0;
  const skipThrough = resumed ? 0 : start.line;
  try {
    for await (const { text, tooLong, bytes } of lines(body)) {
      line += 1;
      offset += bytes;
      let header = false;
      if (format === 'csv' && columns === undefined && !tooLong && text.trim() !== '') {
        const detected = csvColumns(text);
        columns = detected.columns;
        header = detected.isHeader;
      }
      if (line <= skipThrough) continue;
      const cursor = JSON.stringify(columns === undefined ? { line, offset } : { line, offset, columns });
      const entry = { cursor, line, text: text.slice(0, 200) };
      if (tooLong) {
        yield {
          ...entry,
          problem: { code: 'invalid_line', message: `is longer than ${maxLineBytes} bytes` },
        };
        continue;
      }
      if (header) {
        yield entry;
        continue;
      }
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

/**
 * Splits a byte stream at "\n" into UTF-8 lines, never holding more than maxLineBytes of one line;
 * `bytes` is the line's length in the stream, its newline included, for byte offsets.
 */
export async function* lines(
  body: Readable | AsyncIterable<Buffer>,
): AsyncGenerator<{ text: string; tooLong: boolean; bytes: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineBytes = 0;
  let tooLong = false;
  const take = (newline: number) => {
    const result = { text: Buffer.concat(pending).toString('utf8'), tooLong, bytes: lineBytes + newline };
    pending = [];
    pendingBytes = 0;
    lineBytes = 0;
    tooLong = false;
    return result;
  };
  const hold = (piece: Buffer) => {
    lineBytes += piece.length;
    if (tooLong) return;
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes > maxLineBytes) {
      tooLong = true;
      pending = [];
    }
  };
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      hold(chunk.subarray(start, newline));
      yield take(1);
      start = newline + 1;
    }
    if (start < chunk.length) hold(chunk.subarray(start));
  }
  if (lineBytes > 0) yield take(0);
}
