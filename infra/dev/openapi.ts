// Writes docs/openapi.json from the zod contracts (src/api/openapi.ts). `npx tsx infra/dev/openapi.ts`
// rewrites it; test/api/openapi.test.ts fails when the checked-in file is out of date.
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from '../../src/api/openapi.js';

export const openApiPath = new URL('../../docs/openapi.json', import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(openApiPath, renderOpenApi());
