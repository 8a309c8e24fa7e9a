import { randomUUID } from 'node:crypto';
import { type Environment, loadConfig } from '../../src/config.js';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { type Gateway, startGateway } from '../../src/gateway/gateway.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { type QuotaChanges, setQuota } from '../../src/policy/quota-settings.js';
import {
  decodeSigningSecret,
  type KeyAlgorithm,
  type SigningSecret,
  signJob,
} from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import {
  type Collector,
  createTestBroker,
  type RawJobMessage,
  type ReceivedMessage,
  type TestBroker,
} from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// A migrated schema, a broker prefix, and helpers to make tenants, keys and signed messages
// with D's admin functions, exactly as an operator and a producer would.

export interface TestKey {
  readonly keyId: string;
  readonly tenantId: string;
  readonly secret: SigningSecret;
}

export interface SignOptions {
  readonly messageId?: string;
  readonly timestamp?: number;
  readonly nonce?: string;
  readonly contentType?: string;
}

export interface GatewayHarness {
  readonly environment: TestEnvironment;
  readonly db: Database;
  readonly broker: TestBroker;
  readonly masterKey: Buffer;
  /** Every result event published while the harness runs. */
  readonly results: Collector;
  /** The gateways startGateway started, first to last. */
  readonly gateways: readonly Gateway[];
  tenant(tier?: string): Promise<string>;
  key(tenantId: string, options?: { algorithm?: KeyAlgorithm; expiresAt?: Date | null }): Promise<TestKey>;
  grant(tenantId: string, bucket: string, prefix: string, access: 'read' | 'write'): Promise<void>;
  quota(tenantId: string, changes: QuotaChanges): Promise<void>;
  /** A correctly signed job message (unless options say otherwise). */
  signed(key: TestKey, body: unknown, options?: SignOptions): RawJobMessage & { messageId: string };
  publish(message: RawJobMessage): Promise<void>;
  /** Waits for the accepted or rejected event of this job id. */
  decision(jobId: string): Promise<ResultEvent>;
  /** Waits until `count` accepted/rejected events of this job id arrived; returns them in order. */
  decisions(jobId: string, count: number): Promise<ResultEvent[]>;
  /** Starts a gateway; `now` replaces the database clock its admission reads. */
  startGateway(env?: Environment, options?: { now?: () => Date }): Promise<Gateway>;
  /** Broker connections the gateways lost (none expected). */
  dispose(): Promise<void>;
}

export function jobBody(bucket: string, keys: string[], output = { bucket: 'out-bucket', prefix: 'cut/' }) {
  return {
    version: 1,
    input: keys.length === 1 ? { bucket, key: keys[0] } : { bucket, keys },
    output,
    renditions: [{ kind: 'cutout', format: 'png' }],
    model: 'u2netp',
  };
}

export async function createGatewayHarness(
  label: string,
  extraEnv: Environment = {},
): Promise<GatewayHarness> {
  const environment = await createTestEnvironment(label, { CLEARCUT_GATEWAY_HTTP_PORT: '0', ...extraEnv });
  const db = createDatabase(environment.config.database);
  await migrate(db);
  const broker = await createTestBroker(environment.amqpPrefix);
  await broker.declare();
  const results = await broker.collect(broker.names.resultsExchange, '#');
  const masterKey = requireMasterKey(environment.config.gateway.masterKey);
  const gateways: Gateway[] = [];
  let tenants = 0;
  const decisions = async (jobId: string, count: number) => {
    const of = (messages: readonly ReceivedMessage[]) =>
      messages
        .map((m) => m.json() as ResultEvent)
        .filter((e) => (e.kind === 'accepted' || e.kind === 'rejected') && e.jobId === jobId);
    await results.waitFor((messages) => of(messages).length >= count);
    return of(results.messages);
  };

  return {
    environment,
    db,
    broker,
    masterKey,
    results,
    async tenant(tier = 'pro') {
      return (await createTenant(db, `tenant-${++tenants}-${randomUUID().slice(0, 6)}`, tier)).id;
    },
    async key(tenantId, { algorithm = 'hmac-sha256', expiresAt = null } = {}) {
      const created = await createKey(db, masterKey, { tenantId, algorithm, environment: 'test', expiresAt });
      return { keyId: created.key.keyId, tenantId, secret: decodeSigningSecret(created.shownOnce) };
    },
    async grant(tenantId, bucket, prefix, access) {
      await addGrant(db, tenantId, { bucket, prefix, access });
    },
    async quota(tenantId, changes) {
      await setQuota(db, tenantId, changes);
    },
    signed(key, body, options = {}) {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const messageId = options.messageId ?? `job-${randomUUID()}`;
      const contentType = options.contentType ?? 'application/json';
      const { headers } = signJob({
        keyId: key.keyId,
        secret: key.secret,
        messageId,
        contentType,
        body: bytes,
        ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
      });
      return { body: bytes, messageId, contentType, headers };
    },
    publish: (message) => broker.publishJob(message),
    async decision(jobId) {
      return (await decisions(jobId, 1))[0]!;
    },
    decisions,
    async startGateway(env = {}, { now } = {}) {
      const config = loadConfig({ ...environment.env, ...env });
      const gateway = await startGateway(config, {
        log: createLogger(config.log.level),
        ...(now === undefined ? {} : { now }),
      });
      gateways.push(gateway);
      return gateway;
    },
    gateways,
    async dispose() {
      for (const gateway of gateways) await gateway.stop();
      await broker.dispose();
      await db.close();
      await environment.dispose();
    },
  };
}
