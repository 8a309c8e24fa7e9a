import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Environment, loadConfig } from '../../src/config.js';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { startEventService } from '../../src/events/service.js';
import { createLogger } from '../../src/log.js';
import { catalogNames } from '../../src/models/catalog.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { minioEvent, publishEvents } from '../events/event-messages.js';
import { createGatewayHarness, type GatewayHarness, jobBody, type TestKey } from '../gateway/harness.js';
import { runCli } from '../support/cli.js';

// Every front door accepts every name of the model catalog and refuses an unknown one with
// unknown_model: a signed job, an S3 event under a rule naming the model, an S3 event under a rule
// naming none (CLEARCUT_MODEL decides), and `clearcut triggers add --model`. Real broker and
// database; the gateway's relay publishes what every door decided.

const served: Environment = { CLEARCUT_MODELS: catalogNames.join(',') };
const unknown = 'no-such-model';
const log = createLogger('error');
let h: GatewayHarness;
let tenant: string;
let key: TestKey;

beforeAll(async () => {
  h = await createGatewayHarness('every door', served);
  await h.startGateway();
  // No job rate or image quota: this test makes many jobs in a minute.
  tenant = await h.tenant('unlimited');
  key = await h.key(tenant);
  await h.grant(tenant, 'doors-in', '', 'read');
  await h.grant(tenant, 'doors-out', '', 'write');
});
afterAll(async () => h?.dispose());

const output = { bucket: 'doors-out', prefix: 'cut/' };

/** The accepted or rejected event of the job a rule made (its id starts with `s3-<rule id>-`). */
async function ruleDecision(ruleId: string): Promise<ResultEvent> {
  const of = () =>
    h.results.messages
      .map((m) => m.json() as ResultEvent)
      .find((e) => (e.kind === 'accepted' || e.kind === 'rejected') && e.jobId?.startsWith(`s3-${ruleId}-`));
  await h.results.waitFor(() => of() !== undefined);
  return of()!;
}

async function rule(prefix: string, model?: string) {
  return addTrigger(h.db, {
    tenantId: tenant,
    bucket: 'doors-in',
    prefix,
    suffixes: [],
    output,
    ...(model === undefined ? {} : { model }),
  });
}

describe('every door, every catalog name', () => {
  it('a signed job', async () => {
    for (const model of [...catalogNames, unknown]) {
      const message = h.signed(key, { ...jobBody('doors-in', ['a.jpg'], output), model });
      await h.publish(message);
      const decision = await h.decision(message.messageId);
      if (model === unknown) expect(decision).toMatchObject({ kind: 'rejected', reason: 'unknown_model' });
      else expect(decision).toMatchObject({ kind: 'accepted', model });
    }
  });

  it('an S3 event under a rule naming the model', async () => {
    const config = loadConfig({ ...h.environment.env, ...served });
    const service = await startEventService(config, {
      log,
      dispatch: false,
      ops: { registry: createMetricsRegistry('events') },
    });
    try {
      const rules = [];
      for (const model of [...catalogNames, unknown]) {
        const made = await rule(`named/${model}/`, model);
        rules.push(made);
        await publishEvents(h.broker, [
          minioEvent({ bucket: 'doors-in', key: `named/${model}/a.jpg`, eTag: 'e1' }),
        ]);
      }
      for (const made of rules) {
        const decision = await ruleDecision(made.id);
        if (made.model === unknown)
          expect(decision).toMatchObject({ kind: 'rejected', reason: 'unknown_model' });
        else expect(decision).toMatchObject({ kind: 'accepted', model: made.model });
      }
    } finally {
      await service.stop();
    }
  });

  it('an S3 event under a rule naming none, with CLEARCUT_MODEL set to the name', async () => {
    for (const model of catalogNames) {
      const made = await rule(`plain/${model}/`);
      const config = loadConfig({ ...h.environment.env, ...served, CLEARCUT_MODEL: model });
      const service = await startEventService(config, {
        log,
        dispatch: false,
        ops: { registry: createMetricsRegistry('events') },
      });
      try {
        await publishEvents(h.broker, [
          minioEvent({ bucket: 'doors-in', key: `plain/${model}/a.jpg`, eTag: 'e1' }),
        ]);
        expect(await ruleDecision(made.id)).toMatchObject({ kind: 'accepted', model });
      } finally {
        await service.stop();
      }
    }
  });

  it('clearcut triggers add --model', async () => {
    const env = { ...h.environment.env, ...served };
    for (const model of catalogNames) {
      const added = await runCli(
        env,
        'triggers',
        'add',
        `--tenant=${tenant}`,
        '--bucket=doors-in',
        `--prefix=cli/${model}/`,
        '--output=s3://doors-out/cut/',
        `--model=${model}`,
      );
      expect(added, model).toMatchObject({ status: 0 });
    }
    const refused = await runCli(
      env,
      'triggers',
      'add',
      `--tenant=${tenant}`,
      '--bucket=doors-in',
      '--output=s3://doors-out/cut/',
      `--model=${unknown}`,
    );
    expect(refused.status).toBe(2);
    expect(refused.err).toContain(`model "${unknown}" is not known`);
  });
});
