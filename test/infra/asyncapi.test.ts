import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { asyncApiPath, renderAsyncApi } from '../../infra/dev/asyncapi.js';
import { contractJsonSchema, type SchemaName, schemaSources } from '../../infra/dev/asyncapi-components.js';
import { loadConfig } from '../../src/config.js';
import { resultKinds } from '../../src/contracts/result-event.js';
import { gatewayTopology, topologyNames } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';

const text = readFileSync(asyncApiPath, 'utf8');
const document = parse(text) as AsyncApi;

interface Ref {
  $ref: string;
}
interface Channel {
  address: string | null;
  messages: Record<string, Ref>;
  parameters?: Record<string, { enum?: string[] }>;
  bindings: {
    amqp: {
      is: 'queue' | 'routingKey';
      exchange?: { name: string; type: string };
      queue?: { name: string };
    };
  };
}
interface AsyncApi {
  asyncapi: string;
  channels: Record<string, Channel>;
  operations: Record<string, { action: string; channel: Ref; messages: Ref[] }>;
  components: {
    messages: Record<string, { payload: unknown; headers?: Ref; contentType: string }>;
    schemas: Record<string, Record<string, unknown>>;
  };
}

/** Resolves a local JSON pointer (`#/a/b`) in the document. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local ref: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsIn(value, found);
    }
  }
  return found;
}

describe('docs/asyncapi.yaml', () => {
  it('is up to date with the contracts and the topology (run `npx tsx infra/dev/asyncapi.ts`)', () => {
    expect(text).toBe(renderAsyncApi());
  });

  it('is an AsyncAPI 3.0 document whose every $ref resolves', () => {
    expect(document.asyncapi).toBe('3.0.0');
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(resolve(ref), ref).toBeDefined();
  });

  it('has operations on existing channels, with messages of that channel', () => {
    for (const [name, operation] of Object.entries(document.operations)) {
      expect(['send', 'receive'], name).toContain(operation.action);
      const channelRef = operation.channel.$ref;
      expect(channelRef, name).toMatch(/^#\/channels\/[\w.-]+$/);
      expect(resolve(channelRef), name).toBeDefined();
      for (const message of operation.messages) {
        expect(message.$ref.startsWith(`${channelRef}/messages/`), `${name}: ${message.$ref}`).toBe(true);
      }
    }
    for (const [name, channel] of Object.entries(document.channels)) {
      for (const message of Object.values(channel.messages)) {
        expect(message.$ref, name).toMatch(/^#\/components\/messages\/[A-Za-z0-9]+$/);
      }
      // Every {parameter} of an address is declared, and every declared one is used.
      const used = [...(channel.address ?? '').matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(used.sort(), name).toEqual(Object.keys(channel.parameters ?? {}).sort());
    }
  });

  it('describes every exchange and queue the gateway and the workers declare, with its type', () => {
    const names = topologyNames('clearcut');
    const gateway = gatewayTopology(names);
    const worker = workerTopology(names, loadConfig({}).worker.retryDelaysMs);
    const declared = { exchanges: gateway.exchanges, queues: [...gateway.queues, ...worker.queues] };
    const channels = Object.values(document.channels).map((channel) => channel.bindings.amqp);
    const exchanges = channels
      .filter((binding) => binding.is === 'routingKey')
      .map((binding) => binding.exchange);
    const queues = channels.filter((binding) => binding.is === 'queue').map((binding) => binding.queue!.name);
    expect(exchanges.map((exchange) => `${exchange!.name} ${exchange!.type}`).sort()).toEqual(
      declared.exchanges.map((exchange) => `${exchange.name} ${exchange.type}`).sort(),
    );
    expect(queues.sort()).toEqual(declared.queues.map((queue) => queue.name).sort());
  });

  it('has a message per result kind on the results exchange, and the kinds as the routing-key parameter', () => {
    const results = Object.values(document.channels).find(
      (channel) => channel.bindings.amqp.exchange?.name === topologyNames('clearcut').resultsExchange,
    )!;
    expect(results.address).toBe('{tenant}.{jobId}.{kind}');
    expect(results.parameters?.kind?.enum).toEqual([...resultKinds]);
    const kinds = Object.values(results.messages).map((ref) => {
      const message = resolve(ref.$ref) as { payload: Ref };
      const schema = resolve(message.payload.$ref) as { properties: { kind: { const: string } } };
      return schema.properties.kind.const;
    });
    expect(kinds).toEqual([...resultKinds]);
  });

  it('carries payload schemas equal to the JSON Schemas zod makes of the contracts', () => {
    for (const name of Object.keys(schemaSources) as SchemaName[]) {
      const placed = JSON.stringify(document.components.schemas[name]).replaceAll(
        `"$ref":"#/components/schemas/${name}/`,
        '"$ref":"#/',
      );
      expect(JSON.parse(placed), name).toEqual(contractJsonSchema(name));
    }
    for (const message of Object.values(document.components.messages)) {
      expect(message.contentType).toBe('application/json');
      const used = refsIn([message.payload, message.headers ?? []]);
      expect(used.length).toBeGreaterThan(0);
      for (const ref of used) expect(Object.keys(schemaSources)).toContain(ref.split('/').pop());
    }
  });

  it('validates messages with its schemas, in place (refs resolved against the whole document)', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false });
    ajv.addSchema({ ...document, $id: 'asyncapi' });
    const validator = (name: SchemaName) => ajv.getSchema(`asyncapi#/components/schemas/${name}`)!;
    const job = {
      version: 1,
      input: { bucket: 'catalog', key: 'a/b.jpg' },
      output: { bucket: 'cutouts', prefix: 'out/' },
      metadata: { sku: 'A-1', tags: ['x', { nested: true }] },
    };
    expect(validator('Job')(job)).toBe(true);
    expect(validator('Job')({ ...job, output: undefined })).toBe(false);
    expect(validator('Job')({ ...job, metadata: { sku: () => 1 } })).toBe(false);
    const headers = {
      'cc-key-id': 'ck_live_abcdefghijklmnopqrstuvwx',
      'cc-timestamp': '1700000000',
      'cc-nonce': 'AAAAAAAAAAAAAAAAAAAAAA',
      'cc-signature': `v1=${'0'.repeat(64)}`,
    };
    expect(validator('JobHeaders')(headers)).toBe(true);
    expect(validator('JobHeaders')({ ...headers, 'cc-signature': 'v3=x' })).toBe(false);
  });

  it('describes S3 events as MinIO publishes them, records included', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false });
    ajv.addSchema({ ...document, $id: 'asyncapi' });
    const payload = ajv.compile({ $ref: 'asyncapi#/components/messages/s3Event/payload' });
    const record = {
      eventVersion: '2.0',
      eventSource: 'minio:s3',
      eventName: 's3:ObjectCreated:Put',
      s3: { bucket: { name: 'catalog' }, object: { key: 'shoes%2Fred+shoe.jpg', size: 1024, eTag: 'abc' } },
    };
    const minio = { EventName: 's3:ObjectCreated:Put', Key: 'catalog/shoes/red shoe.jpg', Records: [record] };
    expect(payload(minio)).toBe(true);
    expect(payload({ ...minio, Records: [] })).toBe(false);
    expect(payload({ ...minio, Records: [{ ...record, eventSource: 'gcs' }] })).toBe(false);
  });
});
