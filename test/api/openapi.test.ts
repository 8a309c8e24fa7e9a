import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiSchemaName, renderOpenApi } from '../../src/api/openapi.js';
import {
  type ApiHarness,
  clientAssertion,
  job,
  signedFetch,
  startApiHarness,
  type TestKey,
  tokenRequest,
} from './harness.js';

// docs/openapi.json: current with the zod contracts, served at /openapi.json, every $ref resolving,
// and the answers of a real API valid against it.

const committed = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
const document = JSON.parse(committed) as Record<string, unknown>;
let h: ApiHarness;
let key: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api openapi');
  await h.tenant('acme');
  key = await h.key('acme');
});
afterAll(async () => h?.close());

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [name, inner] of Object.entries(value)) {
      if (name === '$ref' && typeof inner === 'string') found.push(inner);
      else refsIn(inner, found);
    }
  }
  return found;
}

const resolve = (pointer: string) =>
  pointer
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], document);

describe('docs/openapi.json', () => {
  it('is up to date with the zod contracts (run `npx tsx infra/dev/openapi.ts`) and served at /openapi.json', async () => {
    expect(committed).toBe(renderOpenApi());
    expect(await (await fetch(`${h.base}/openapi.json`)).json()).toEqual(document);
  });

  it('is OpenAPI 3.1 whose every $ref resolves', () => {
    expect(document.openapi).toBe('3.1.0');
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(resolve(ref), ref).toBeDefined();
  });

  it('describes what the API really answers', async () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ ...document, $id: 'openapi' });
    const check = async (name: ApiSchemaName, response: Response) => {
      const validate = ajv.getSchema(`openapi#/components/schemas/${name}`)!;
      const body: unknown = await response.json();
      expect(validate(body), `${name}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(body)}`).toBe(
        true,
      );
    };
    await check(
      'JobAccepted',
      await signedFetch(h.base, key, {
        method: 'POST',
        path: '/v1/jobs',
        body: job('acme'),
        idempotencyKey: 'doc-1',
      }),
    );
    await check('JobStatus', await signedFetch(h.base, key, { path: '/v1/jobs/doc-1' }));
    await check('JobList', await signedFetch(h.base, key, { path: '/v1/jobs' }));
    await check('ItemList', await signedFetch(h.base, key, { path: '/v1/jobs/doc-1/items' }));
    await check('Usage', await signedFetch(h.base, key, { path: '/v1/usage' }));
    await check('Problem', await signedFetch(h.base, key, { path: '/v1/jobs/nope' }));
    await check(
      'Problem',
      await signedFetch(h.base, key, {
        method: 'POST',
        path: '/v1/jobs',
        body: '{}',
        idempotencyKey: 'doc-2',
      }),
    );
    expect(ajv.getSchema('openapi#/components/schemas/Job')!(JSON.parse(job('acme')))).toBe(true);
    await check(
      'TokenResponse',
      await tokenRequest(h.base, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await clientAssertion(key, 'clearcut'),
      }),
    );
    await check('OAuthError', await tokenRequest(h.base, { grant_type: 'password' }));
  });
});
