import { bucketNameProblem, objectKeyProblem } from '../contracts/object-keys.js';
import { hasUnpairedSurrogate } from '../contracts/storable-text.js';

// Pure: one line of a manifest object → the source object it names, or why it names none.
// JSONL lines are `{"key": "..."}` (optionally with "bucket"), a JSON string, or a plain key;
// CSV has a header row with a `key` column (and optionally `bucket`), or no header and the key
// in the first column. Blank lines are ignored; every other line that names no valid object is
// reported on its own and never fails the job.

export type ManifestFormat = 'jsonl' | 'csv';

export interface LineProblem {
  readonly code: 'invalid_line' | 'invalid_key' | 'invalid_bucket';
  readonly message: string;
}

export type ParsedLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'header' }
  | { readonly kind: 'source'; readonly bucket: string; readonly key: string }
  | { readonly kind: 'problem'; readonly problem: LineProblem };

/** The format a manifest key implies; `explicit` (the job's manifest.format) wins. */
export function manifestFormat(key: string, explicit?: ManifestFormat): ManifestFormat {
  if (explicit) return explicit;
  return /\.csv$/i.test(key) ? 'csv' : 'jsonl';
}

/** Column positions of a CSV manifest, learnt from its first non-blank line. */
export interface CsvColumns {
  readonly key: number;
  readonly bucket?: number;
}

const problem = (code: LineProblem['code'], message: string): ParsedLine => ({
  kind: 'problem',
  problem: { code, message },
});

function checkedSource(bucket: string, key: string): ParsedLine {
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) return problem('invalid_bucket', `bucket "${bucket}" ${bucketProblem}`);
  const keyProblem =
    objectKeyProblem(key) ??
    (hasUnpairedSurrogate(key) ? 'must be valid Unicode (it has an unpaired surrogate)' : undefined);
  if (keyProblem) return problem('invalid_key', `key ${JSON.stringify(key)} ${keyProblem}`);
  return { kind: 'source', bucket, key };
}

export function parseJsonlLine(line: string, defaultBucket: string): ParsedLine {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { kind: 'blank' };
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '"') return checkedSource(defaultBucket, text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return problem('invalid_line', `not JSON: ${(error as Error).message}`);
  }
  if (typeof value === 'string') return checkedSource(defaultBucket, value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return problem('invalid_line', 'expected {"key": "..."}, a JSON string or a plain key');
  }
  const { key, bucket } = value as { key?: unknown; bucket?: unknown };
  if (typeof key !== 'string') return problem('invalid_line', 'has no "key" string field');
  if (bucket !== undefined && typeof bucket !== 'string') {
    return problem('invalid_line', '"bucket" must be a string');
  }
  return checkedSource(bucket ?? defaultBucket, key);
}

/** RFC 4180 fields of one line; undefined when a quote is left open (multi-line fields are not supported). */
export function splitCsvLine(line: string): string[] | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (char === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
      continue;
    } else if (char === '"' && atFieldStart) quoted = true;
    else field += char;
    atFieldStart = false;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

/** A first line with a cell named `key` is a header; otherwise keys are in the first column. */
export function csvColumns(firstLine: string): { columns: CsvColumns; isHeader: boolean } {
  const cells = (splitCsvLine(firstLine) ?? []).map((cell) => cell.trim().toLowerCase());
  const key = cells.indexOf('key');
  if (key < 0) return { columns: { key: 0 }, isHeader: false };
  const bucket = cells.indexOf('bucket');
  return { columns: bucket < 0 ? { key } : { key, bucket }, isHeader: true };
}

export function parseCsvLine(line: string, columns: CsvColumns, defaultBucket: string): ParsedLine {
  if (line.trim() === '') return { kind: 'blank' };
  const cells = splitCsvLine(line);
  if (cells === undefined) return problem('invalid_line', 'has an unterminated quoted field');
  const key = cells[columns.key];
  if (key === undefined || key === '')
    return problem('invalid_line', `has no value in column ${columns.key + 1} (key)`);
  const bucket = columns.bucket === undefined ? '' : (cells[columns.bucket] ?? '');
  return checkedSource(bucket === '' ? defaultBucket : bucket, key);
}
