import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGatewayHarness, type GatewayHarness, jobBody } from '../gateway/harness.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { until } from '../support/until.js';

// A flood of large messages at a gateway: amqplib hands over a whole body before the gateway can
// look at its size, and the broker pushes a consumer's whole window at once — whatever the
// consumer does, it cannot stop what is already on the wire. The gateway sizes its windows so that
// what CLEARCUT_GATEWAY_PREFETCH_BYTES has left holds that many of the largest messages the broker
// takes (CLEARCUT_BROKER_MAX_MESSAGE_BYTES; here the flood's 1 MiB). It runs as a process of
// its own, and its peak resident set (VmHWM, kept by the kernel) is read after the flood, so no
// moment is missed. The database is held (audit and outbox tables locked) while the flood
// arrives, as when PostgreSQL is slow: nothing is decided, so whatever the gateway takes, it keeps.

const mib = 1024 * 1024;
const budget = 8 * mib;
const messages = 300;
const bodyBytes = mib;

let h: GatewayHarness;
let gateway: ServiceProcess | undefined;

beforeAll(async () => {
  h = await createGatewayHarness('flood large');
});
afterAll(async () => {
  await gateway?.stop();
  await h?.dispose();
});

function peakRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmHWM:'));
  return Number(line!.split(/\s+/)[1]) * 1024;
}

it('keeps the gateway within its byte budget while it rejects a flood of 300 × 1 MiB messages', async () => {
  gateway = await startServiceProcess(
    ['workers/gateway.ts'],
    {
      ...h.environment.env,
      CLEARCUT_GATEWAY_PREFETCH_BYTES: String(budget),
      CLEARCUT_BROKER_MAX_MESSAGE_BYTES: String(bodyBytes),
    },
    'gateway started',
  );
  const pid = gateway.child.pid!;
  const tenant = await h.tenant();
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'out-bucket', '', 'write');
  const key = await h.key(tenant);
  // Warm up (first batch, first transaction), then take the peak so far as the baseline.
  const warm = h.signed(key, jobBody('catalog', ['warm.jpg']));
  await h.publish(warm);
  expect((await h.decision(warm.messageId)).kind).toBe('accepted');
  const baseline = peakRssBytes(pid);
  let held = 0;

  const flood = Array.from({ length: messages }, () => h.signed(key, randomBytes(bodyBytes)));
  await h.db.transaction(async (tx) => {
    await tx.query('LOCK TABLE audit_log, outbox IN ACCESS EXCLUSIVE MODE');
    await Promise.all(flood.map((message) => h.publish(message)));
    // Until the gateway took what it may (a budget's worth; without one, everything).
    await until(
      async () => (await h.broker.depth(h.broker.names.jobsQueue)) <= messages - budget / bodyBytes,
      { what: 'the gateway to take its share of the flood', timeoutMs: 60_000 },
    );
    held = peakRssBytes(pid) - baseline;
  });
  // A job behind the flood: once it is decided, every flood message before it was too.
  const marker = h.signed(key, jobBody('catalog', ['marker.jpg']));
  await h.publish(marker);
  // A few messages per batch now, on a machine that may be busy: allow it time.
  const markerKey = `${tenant}.${marker.messageId}.accepted`;
  await h.results.waitFor((events) => events.some((event) => event.routingKey === markerKey), 120_000);
  expect(await h.broker.depth(h.broker.names.jobsQueue)).toBe(0);

  const growth = peakRssBytes(pid) - baseline;
  console.log(
    `peak RSS over ${(baseline / mib).toFixed(0)} MiB: +${(held / mib).toFixed(1)} MiB holding the flood, +${(growth / mib).toFixed(1)} MiB after deciding it`,
  );
  // Held: the budget and the buffers of frames being assembled; after deciding, also the garbage
  // of the bodies already acked that the collector has not freed yet. A gateway with its prefetch
  // of 1000 and no byte budget would take the whole 300 MiB flood.
  expect(held).toBeLessThan(3 * budget + 24 * mib);
  expect(growth).toBeLessThan(6 * budget + 64 * mib);
}, 240_000);
