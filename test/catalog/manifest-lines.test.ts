import { describe, expect, it } from 'vitest';
import { lines, maxLineBytes } from '../../src/catalog/input-entries.js';
import {
  csvColumns,
  manifestFormat,
  parseJsonlLine,
  splitCsvLine,
} from '../../src/catalog/manifest-lines.js';

async function split(chunks: string[]) {
  const out: { text: string; tooLong: boolean; bytes: number }[] = [];
  for await (const line of lines(
    (async function* () {
      for (const chunk of chunks) yield Buffer.from(chunk);
    })(),
  ))
    out.push(line);
  return out;
}

describe('manifest lines', () => {
  it('splits a stream at newlines across chunk boundaries, multi-byte characters included', async () => {
    const euro = Buffer.from('€');
    const bytes = [
      Buffer.from('a/1.jpg\nb/'),
      Buffer.concat([Buffer.from('2.jpg\nc/'), euro.subarray(0, 2)]),
      Buffer.concat([euro.subarray(2), Buffer.from('.jpg')]),
    ];
    const out: { text: string; bytes: number }[] = [];
    for await (const line of lines(
      (async function* () {
        yield* bytes;
      })(),
    ))
      out.push(line);
    expect(out.map((line) => line.text)).toEqual(['a/1.jpg', 'b/2.jpg', 'c/€.jpg']);
    // Byte lengths (newline included) add up to the stream's: they are the resume offsets.
    expect(out.map((line) => line.bytes)).toEqual([8, 8, 9]);
  });

  it('never holds an over-long line: it is reported as too long and the next line is read whole', async () => {
    const long = 'x'.repeat(maxLineBytes + 10);
    const out = await split([long.slice(0, 5000), `${long.slice(5000)}\nnext.jpg\n`]);
    expect(out).toEqual([
      { text: '', tooLong: true, bytes: long.length + 1 },
      { text: 'next.jpg', tooLong: false, bytes: 9 },
    ]);
  });

  it('reads JSONL entries and names what is wrong with the others', () => {
    expect(parseJsonlLine('{"key":"a.jpg","bucket":"other-b"}', 'def-b')).toEqual({
      kind: 'source',
      bucket: 'other-b',
      key: 'a.jpg',
    });
    expect(parseJsonlLine('  ', 'def-b')).toEqual({ kind: 'blank' });
    expect(parseJsonlLine('{"key":"a.jpg","bucket":5}', 'def-b')).toMatchObject({
      kind: 'problem',
      problem: { code: 'invalid_line' },
    });
    expect(parseJsonlLine('{"key":"a.jpg","bucket":"Bad_Bucket"}', 'def-b')).toMatchObject({
      problem: { code: 'invalid_bucket' },
    });
    expect(parseJsonlLine('a/\u0007.jpg', 'def-b')).toMatchObject({ problem: { code: 'invalid_key' } });
  });

  it('splits CSV fields with quotes and finds the key column from a header', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
    expect(splitCsvLine('a,"open')).toBeUndefined();
    expect(csvColumns('SKU, Key ,Bucket')).toEqual({ columns: { key: 1, bucket: 2 }, isHeader: true });
    expect(csvColumns('photos/1.jpg,12')).toEqual({ columns: { key: 0 }, isHeader: false });
    expect(manifestFormat('lists/a.CSV')).toBe('csv');
    expect(manifestFormat('lists/a.csv', 'jsonl')).toBe('jsonl');
    expect(manifestFormat('lists/a.ndjson')).toBe('jsonl');
  });
});
