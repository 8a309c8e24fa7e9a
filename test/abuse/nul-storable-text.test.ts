import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasUnpairedSurrogate, storableText } from '../../src/contracts/storable-text.js';
import { testDatabaseUrl } from '../support/environment.js';

// storableText against the real PostgreSQL: what it returns is stored and read back unchanged,
// where the raw text is refused (NUL) or silently altered (an unpaired surrogate).

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
});
afterAll(async () => client?.end());

const roundTrip = async (text: string) =>
  (await client.query<{ t: string }>('SELECT $1::text AS t', [text])).rows[0]!.t;

describe('storableText', () => {
  it('escapes NUL so PostgreSQL stores it, and says so', async () => {
    const raw = 'photos/a\u0000b.jpg';
    await expect(roundTrip(raw)).rejects.toThrow(/0x00/);
    const stored = storableText(raw);
    expect(stored).toEqual({
      text: 'photos/a\\u0000b.jpg',
      note: 'contained NUL characters, shown as \\uXXXX escapes',
    });
    expect(await roundTrip(stored.text)).toBe(stored.text);
  });

  it('escapes unpaired surrogates (which would come back as U+FFFD) and keeps real pairs', async () => {
    const raw = 'x\ud800y\udc00z 😀';
    expect(await roundTrip(raw)).not.toBe(raw); // silently altered by the UTF-8 encoding
    const stored = storableText(raw);
    expect(stored.text).toBe('x\\ud800y\\udc00z 😀');
    expect(stored.note).toBe('contained unpaired UTF-16 surrogates, shown as \\uXXXX escapes');
    expect(await roundTrip(stored.text)).toBe(stored.text);
    expect(storableText('a\u0000\udfff').note).toBe(
      'contained NUL characters and unpaired UTF-16 surrogates, shown as \\uXXXX escapes',
    );
  });

  it('leaves storable text as it is, without a note', () => {
    expect(storableText('plain ütf-8 😀 \\u0000 as written')).toEqual({
      text: 'plain ütf-8 😀 \\u0000 as written',
    });
    expect(hasUnpairedSurrogate('😀')).toBe(false);
    expect(hasUnpairedSurrogate('😀'.slice(0, 1))).toBe(true);
  });
});
