// A minimal gateway for `npm run bench:gateway-floor`, never product code: what the stack itself
// costs per job (RabbitMQ in and out, PostgreSQL's durable rows, the contract's per-job JS), with
// the gateway's environment, prefetch, batch size, batch window and batches in flight.
//   rung 1 `broker`: consume, publish a persistent task and result event per job with confirms,
//                    then ack the batch (multiple).
//   rung 2 `rows`:   first one statement per batch (one transaction) inserting the nonces, jobs,
//                    tasks and outbox rows; ack; publish; then one statement marking the tasks
//                    published and deleting the outbox rows.
//   rung 3 `js`:     rung 2 plus, per job, the signing headers parsed, the signature verified
//                    (src/signing), the timestamp checked and the body parsed and validated
//                    (src/contracts/job.ts, JSON.parse and zod).
// Anything unexpected (a refused message, a failed statement) ends the process with status 1.
import amqp, { type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { loadConfig } from '../../src/config.js';
import { parseJobBody } from '../../src/contracts/job.js';
import { createDatabase } from '../../src/db/postgres.js';
import { loadSigningKey } from '../../src/keys/key-rows.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { taskLaneRoutingKeys, topologyNames } from '../../src/queue/topology.js';
import { assertFreshTimestamp, parseSignedHeaders, verifySignature } from '../../src/signing/index.js';
import {
  type FloorRung,
  floorReadyLine,
  floorRungVariable,
  floorSchemaVariable,
  floorStatements,
} from './floor-schema.js';

const config = loadConfig(process.env);
const rung = process.env[floorRungVariable] as FloorRung;
const names = topologyNames(config.broker.prefix);
const { batchSize, batchWindowMs, batchesInFlight, prefetch, timestampWindowMs } = config.gateway;

const fail = (error: unknown) => {
  console.error(error);
  process.exit(1);
};

// The key the bench producer signs with, read once as the gateway's key cache would hold it.
const keyDb = createDatabase(config.database);
const keyId = process.env.BENCH_PRODUCER_KEY_ID!;
const key = await loadSigningKey(keyDb, requireMasterKey(config.gateway.masterKey), keyId);
await keyDb.close();
if (!key) throw new Error(`no key ${keyId}`);
const tenant = key.tenantId;
const db =
  rung === 'broker'
    ? undefined
    : createDatabase({ ...config.database, schema: process.env[floorSchemaVariable]! });

const connection = await amqp.connect(config.broker.url, {
  clientProperties: { connection_name: `bench floor ${rung}` },
});
const consumeChannel = await connection.createChannel();
await consumeChannel.prefetch(prefetch);
const publishChannel: ConfirmChannel = await connection.createConfirmChannel();

/** The per-job work of rung 3; throws on anything the real gateway would refuse. */
function checkJob(message: ConsumeMessage): void {
  const { headers, messageId, contentType } = message.properties;
  const signed = parseSignedHeaders(headers, messageId, contentType);
  if (signed.keyId !== keyId || !verifySignature(signed, message.content, key!)) {
    throw new Error(`bad signature on ${messageId}`);
  }
  assertFreshTimestamp(signed, Date.now(), timestampWindowMs);
  const parsed = parseJobBody(message.content);
  if (!parsed.ok) throw new Error(`invalid job ${messageId}: ${parsed.problems.join('; ')}`);
}

interface Outbound {
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string;
  readonly body: string;
}

/** A task and a result event per job, built from the raw body (no rung parses it for this). */
function outputs(batch: readonly ConsumeMessage[]): { tasks: Outbound[]; events: Outbound[] } {
  const tasks: Outbound[] = [];
  const events: Outbound[] = [];
  for (const message of batch) {
    const jobId = String(message.properties.messageId);
    tasks.push({
      exchange: names.tasksExchange,
      routingKey: taskLaneRoutingKeys.normal,
      messageId: `${jobId}-0`,
      body: `{"version":1,"tenant":"${tenant}","jobId":"${jobId}","item":0,"job":${message.content.toString()}}`,
    });
    events.push({
      exchange: names.resultsExchange,
      routingKey: `${tenant}.${jobId}.accepted`,
      messageId: `${jobId}-accepted`,
      body: `{"version":1,"kind":"accepted","tenant":"${tenant}","jobId":"${jobId}","items":1}`,
    });
  }
  return { tasks, events };
}

/** Publishes persistent messages; resolves once the broker confirmed all of them. */
function publish(messages: readonly Outbound[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let waiting = messages.length;
    const timestamp = Math.floor(Date.now() / 1000);
    for (const message of messages) {
      publishChannel.publish(
        message.exchange,
        message.routingKey,
        Buffer.from(message.body),
        { persistent: true, messageId: message.messageId, contentType: 'application/json', timestamp },
        (error: unknown) => {
          if (error) reject(new Error(`broker refused a message: ${String(error)}`));
          else if (--waiting === 0) resolve();
        },
      );
    }
  });
}

/** Decides one batch; resolves once it may be acked (`durable`) and when all of it is out (`done`). */
function decide(batch: readonly ConsumeMessage[]): { durable: Promise<unknown>; done: Promise<void> } {
  if (rung === 'js') for (const message of batch) checkJob(message);
  const { tasks, events } = outputs(batch);
  if (!db) {
    const done = publish([...tasks, ...events]);
    return { durable: done, done };
  }
  const statements = floorStatements;
  const inserted = db.query<{ tasks: string[]; events: string[] }>(statements.admit, [
    keyId,
    batch.map((message) => String(message.properties.headers?.['cc-nonce'])),
    batch.map((message) => Number(message.properties.headers?.['cc-timestamp'])),
    tenant,
    timestampWindowMs / 1000,
    batch.map((message) => String(message.properties.messageId)),
    batch.map((message) => message.content.toString()),
    events.map((event) => event.routingKey),
    events.map((event) => event.body),
  ]);
  const done = inserted.then(async ([ids]) => {
    await publish([...tasks, ...events]);
    await db.query(statements.published, [ids!.tasks, ids!.events]);
  });
  return { durable: inserted, done };
}

let batch: ConsumeMessage[] = [];
let timer: NodeJS.Timeout | undefined;
// As the gateway: a batch holds one of its `batchesInFlight` slots until it is durable (committed),
// and its publishing goes on after that; at most `publishingBound` durable batches may still be
// publishing (the gateway's hand-off stops taking batches beyond four waiting, src/jobs/publishing.ts).
const publishingBound = 4;
let inFlight = 0;
let publishing = 0;
const waitingBatches: ConsumeMessage[][] = [];
const mayStart = () => inFlight < batchesInFlight && publishing < batchesInFlight + publishingBound;
// Acks follow delivery order: a batch is acked once it is durable and every earlier one is acked.
let acked: Promise<unknown> = Promise.resolve();

function start(next: ConsumeMessage[]) {
  inFlight++;
  publishing++;
  const { durable, done } = decide(next);
  acked = Promise.all([acked, durable]).then(() => consumeChannel.ack(next.at(-1)!, true));
  acked.catch(fail);
  durable.then(
    () => {
      inFlight--;
      startWaiting();
    },
    () => {},
  );
  done.catch(fail).finally(() => {
    publishing--;
    startWaiting();
  });
}

function startWaiting() {
  while (waitingBatches.length > 0 && mayStart()) start(waitingBatches.shift()!);
}

function flush() {
  clearTimeout(timer);
  timer = undefined;
  const full = batch;
  batch = [];
  waitingBatches.push(full);
  startWaiting();
}

console.log(floorReadyLine);
await consumeChannel.consume(names.jobsQueue, (message) => {
  if (!message) return fail(new Error('consumer cancelled by the broker'));
  batch.push(message);
  if (batch.length >= batchSize) flush();
  else timer ??= setTimeout(flush, batchWindowMs);
});

process.once('SIGTERM', () => {
  void connection
    .close()
    .then(() => db?.close())
    .finally(() => process.exit(0));
});
