// Writes the JSON Schema files of the wire contracts (src/contracts/schemas/*.json) from the zod
// schemas, which stay the one source of truth. `npx tsx infra/dev/contract-schemas.ts` rewrites
// them; test/contracts/json-schema.test.ts fails when a checked-in file is out of date.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { jobSchema } from '../../src/contracts/job.js';
import { resultEventSchema } from '../../src/contracts/result-event.js';
import { taskSchema } from '../../src/contracts/task.js';

const schemaBase = 'https://clearcut.dev/schemas/';

/** Jobs are validated as producers write them (defaults optional); tasks and events as receivers read them. */
const contracts = [
  { file: 'job.v1.schema.json', title: 'ClearCut job body', schema: jobSchema, io: 'input' },
  { file: 'task.v1.schema.json', title: 'ClearCut task', schema: taskSchema, io: 'output' },
  {
    file: 'result-event.v1.schema.json',
    title: 'ClearCut result event',
    schema: resultEventSchema,
    io: 'output',
  },
] as const;

export const contractSchemaDirectory = new URL('../../src/contracts/schemas/', import.meta.url);

/** File name → file text, exactly as checked in. */
export function renderContractSchemas(): Map<string, string> {
  return new Map(
    contracts.map(({ file, title, schema, io }) => {
      const json = {
        $id: `${schemaBase}${file}`,
        title,
        ...z.toJSONSchema(schema, { io, target: 'draft-2020-12' }),
      };
      return [file, `${JSON.stringify(json, null, 2)}\n`];
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, text] of renderContractSchemas())
    writeFileSync(new URL(file, contractSchemaDirectory), text);
}
