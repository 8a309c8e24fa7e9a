import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storableMessage } from '../../src/admission/record.js';
import { listAudit, recordAudit } from '../../src/audit/audit.js';
import { jsonParameter } from '../../src/db/json-parameter.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';

// Rows sent as one JSON parameter, against the real PostgreSQL: a string holding half of a
// surrogate pair (an emoji cut by a length limit) is stored with U+FFFD, as a text parameter would
// store it, instead of failing the whole statement.

let h: MigratedDatabase;
beforeAll(async () => {
  h = await migratedDatabase('json parameter');
});
afterAll(async () => h?.dispose());

const details = (json: string) =>
  h.db.query<{ detail: string }>('SELECT detail FROM json_to_recordset($1::json) AS r(detail text)', [json]);

describe('jsonParameter', () => {
  const cut = `${'x'.repeat(3)}${'😀'.slice(0, 1)}`;

  it('is what PostgreSQL json takes where JSON.stringify is refused: the lone half becomes U+FFFD', async () => {
    await expect(details(JSON.stringify([{ detail: cut }]))).rejects.toThrow(
      /invalid input syntax for type json/,
    );
    expect(await details(jsonParameter([{ detail: cut }, { detail: '\udc00y' }]))).toEqual([
      { detail: 'xxx\ufffd' },
      { detail: '\ufffdy' },
    ]);
  });

  it('leaves whole pairs, escapes-looking text and other values as JSON.stringify writes them', async () => {
    const rows = [{ detail: 'a 😀 b' }, { detail: 'literal \\ud800 text' }, { detail: null }];
    expect(jsonParameter(rows)).toBe(JSON.stringify(rows));
    expect(await details(jsonParameter(rows))).toEqual(rows);
  });

  it('lets an audit row whose detail was cut inside an emoji be recorded', async () => {
    const detail = storableMessage(`${'y'.repeat(1999)}😀 and more`);
    expect(detail.endsWith('\ud83d')).toBe(true);
    await recordAudit(h.db, [{ source: 'event', outcome: 'rejected', reason: 'invalid_body', detail }]);
    const [entry] = await listAudit(h.db, { limit: 1 });
    expect(entry?.detail).toBe(`${'y'.repeat(1999)}\ufffd`);
  });
});
