import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contractSchemaDirectory, renderContractSchemas } from '../../infra/dev/contract-schemas.js';

describe('JSON Schema files of the contracts', () => {
  it('are up to date with the zod schemas (run `npx tsx infra/dev/contract-schemas.ts`)', () => {
    const rendered = renderContractSchemas();
    expect(readdirSync(contractSchemaDirectory).sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) {
      expect(readFileSync(new URL(file, contractSchemaDirectory), 'utf8'), file).toBe(text);
    }
  });

  it('describe the job as producers write it: strict objects, the version, the 1000-key bound', () => {
    const job = JSON.parse(renderContractSchemas().get('job.v1.schema.json')!);
    expect(job.additionalProperties).toBe(false);
    expect(job.required).toEqual(['version', 'input', 'output']);
    expect(job.properties.version.const).toBe(1);
    const list = job.properties.input.anyOf.find((form: { required: string[] }) =>
      form.required.includes('keys'),
    );
    expect(list.properties.keys.maxItems).toBe(1000);
  });

  it('describe every result event kind', () => {
    const events = JSON.parse(renderContractSchemas().get('result-event.v1.schema.json')!);
    const kinds = events.oneOf.map(
      (option: { properties: { kind: { const: string } } }) => option.properties.kind.const,
    );
    expect(kinds).toEqual(['accepted', 'rejected', 'item.succeeded', 'item.failed', 'job.completed']);
  });
});
