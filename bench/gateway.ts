// npm run bench:gateway [-- --messages 20000 --items 1 --algorithms hmac-sha256,ed25519 --gateways 1,2 --cpu-prof DIR]
//
// 1. Signature verifications per second on one core, alone (HMAC-SHA256 and Ed25519): the
//    canonical string, the body's SHA-256 and the check, for a realistic job body.
// 2. End to end against the real broker and database (bench/support/gateway-end-to-end.ts, which
//    `npm run bench:api` runs too): signed jobs published → a gateway process
//    (`node --import tsx workers/gateway.ts`) → job and task rows committed (tasks durable), then
//    tasks published to the tasks queue and result events out of the outbox. Measured twice: a
//    backlog already in the inbox when the gateway starts (the gateway's own rate), and live, with
//    this process publishing while the gateway admits (both share the machine's cores).
// Prints Markdown tables; writes bench/results/gateway-*.json.
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import {
  decodePublicKey,
  decodeSigningSecret,
  generateSigningKey,
  type KeyAlgorithm,
  parseSignedHeaders,
  signJob,
  type VerificationKey,
  verifySignature,
} from '../src/signing/index.js';
import { benchJobBody, type EndToEnd, measureGatewayEndToEnd } from './support/gateway-end-to-end.js';
import { markdownTable, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    items: { type: 'string', default: '1' },
    algorithms: { type: 'string', default: 'hmac-sha256,ed25519' },
    /** Gateway processes consuming the one inbox, each count measured in turn. */
    gateways: { type: 'string', default: '1,2' },
    /** Writes a V8 CPU profile of the gateway process into this directory. */
    'cpu-prof': { type: 'string' },
  },
});
const messageCount = Number(values.messages);
const itemsPerJob = Number(values.items);
const algorithms = values.algorithms.split(',') as KeyAlgorithm[];
const gatewayCounts = values.gateways.split(',').map(Number);

/** Verifications per second on this one thread, over about `seconds`. */
function verificationRate(algorithm: KeyAlgorithm, seconds = 2): number {
  const made = generateSigningKey(algorithm, 'test');
  const secret = decodeSigningSecret(made.shownOnce);
  const key: VerificationKey =
    made.algorithm === 'hmac-sha256'
      ? { algorithm: 'hmac-sha256', secret: made.secret }
      : { algorithm: 'ed25519', publicKey: decodePublicKey(made.publicKey) };
  const body = benchJobBody(1, itemsPerJob);
  const messageId = randomUUID();
  const { headers } = signJob({
    keyId: made.keyId,
    secret,
    messageId,
    contentType: 'application/json',
    body,
  });
  const parsed = parseSignedHeaders(headers, messageId, 'application/json');
  let count = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++) if (verifySignature(parsed, body, key)) count++;
  }
  return Math.round(count / ((performance.now() - started) / 1000));
}

const verification = algorithms.map((algorithm) => ({
  algorithm,
  perSecondPerCore: verificationRate(algorithm),
}));
console.log('\nSignature verification, one core (canonical string + body SHA-256 + check):\n');
console.log(
  markdownTable([
    ['algorithm', 'verifications/s/core'],
    ...verification.map((row) => [row.algorithm, row.perSecondPerCore]),
  ]),
);

const endToEndRows: EndToEnd[] = [];
for (const algorithm of algorithms) {
  for (const gateways of gatewayCounts) {
    endToEndRows.push(
      ...(await measureGatewayEndToEnd({
        algorithm,
        messages: messageCount,
        items: itemsPerJob,
        gateways,
        cpuProfileDir: values['cpu-prof'],
      })),
    );
  }
}
console.log(
  `\nEnd to end, ${messageCount} jobs of ${itemsPerJob} item(s) each, ${availableParallelism()} cores; gateways = processes consuming the one inbox:\n`,
);
console.log(
  markdownTable([
    [
      'algorithm',
      'mode',
      'gateways',
      'admitted jobs/s (tasks durable)',
      'tasks published/s',
      'result events out/s',
      'CPU ms/job: gateways · their postgres backends · rabbitmq · bench · machine',
      'load 1 min',
    ],
    ...endToEndRows.map((row) => [
      row.algorithm,
      row.mode,
      row.gateways,
      row.admittedPerSecond,
      row.tasksPublishedPerSecond,
      row.eventsPublishedPerSecond,
      ['gateway', 'postgres for the gateway', 'rabbitmq', 'bench', 'machine']
        .map((g) => row.cpuMsPerJob[g])
        .join(' · '),
      row.loadAverage[0]!.toFixed(1),
    ]),
  ]),
);
const settings = loadConfig(process.env).gateway;
const path = await writeResults('gateway', {
  settings: {
    batchSize: settings.batchSize,
    batchWindowMs: settings.batchWindowMs,
    batchesInFlight: settings.batchesInFlight,
    prefetch: settings.prefetch,
    dispatchQuantum: settings.dispatchQuantum,
  },
  verification,
  endToEnd: endToEndRows,
});
console.log(`\nwrote ${path}`);
