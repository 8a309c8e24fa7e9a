import { Counter } from 'prom-client';
import { afterEach, expect, it } from 'vitest';
import { type OpsServer, startOpsServer } from '../../src/ops/http-server.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness: Parameters<typeof startOpsServer>[0]['readiness']) {
  const registry = createMetricsRegistry('test');
  const counter = new Counter({ name: 'clearcut_test_things_total', help: 'Things.', registers: [registry] });
  server = await startOpsServer({ port: 0, host: '127.0.0.1', registry, readiness });
  const get = async (path: string, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };
  return { counter, get };
}

it('answers /healthz, and /readyz with every check', async () => {
  const { get } = await start({ broker: () => true, database: async () => true });
  expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
  const ready = await get('/readyz');
  expect(ready.status).toBe(200);
  expect(JSON.parse(ready.text)).toEqual({ ready: true, checks: { broker: true, database: true } });
});

it('is not ready while a check fails or throws, and says which', async () => {
  const { get } = await start({
    broker: () => false,
    database: async () => {
      throw new Error('connection refused');
    },
    model: () => true,
  });
  const ready = await get('/readyz');
  expect(ready.status).toBe(503);
  expect(JSON.parse(ready.text)).toEqual({
    ready: false,
    checks: { broker: false, database: false, model: true },
  });
});

it('serves Prometheus metrics, labelled with the role, counters moving', async () => {
  const { counter, get } = await start({});
  counter.inc(3);
  const metrics = await get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.type).toContain('text/plain');
  expect(metrics.text).toContain('clearcut_test_things_total{role="test"} 3');
  expect(metrics.text).toContain('clearcut_process_cpu_seconds_total');
});

it('refuses other paths and methods', async () => {
  const { get } = await start({});
  expect((await get('/nope')).status).toBe(404);
  expect((await get('/metrics', 'POST')).status).toBe(405);
});
