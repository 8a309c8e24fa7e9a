import { afterAll, beforeAll, expect, it } from 'vitest';
import { rabbitmqDefinitions } from '../../infra/rabbitmq/definitions.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from '../gateway/harness.js';
import { until } from '../support/until.js';

// The results→jobs loop: a producer with read on the results exchange and write on the jobs
// exchange routes result events back into the jobs exchange (an exchange-to-exchange binding; a
// queue binding of the jobs inbox is refused since it no longer shares the exchange's name). With
// `#`, every event comes back as an unsigned "job" whose rejection (`_.<id>.rejected`) comes back
// again, forever. The shipped definitions give producers topic permissions that allow no binding
// key wider than `<tenant>.` (the broker refusing the rest: test/infra/rabbitmq-broker.test.ts);
// with the widest binding left, one event comes back once and the loop ends.

let h: GatewayHarness;

beforeAll(async () => {
  h = await createGatewayHarness('results loop');
  await h.startGateway();
});
afterAll(async () => {
  await h?.dispose();
});

const inboxIdle = async () => {
  const channel = await h.broker.bus.channel();
  try {
    return (await channel.checkQueue(h.broker.names.jobsQueue)).messageCount === 0;
  } finally {
    await channel.close();
  }
};
const auditRows = async () =>
  (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log'))[0]!.n;

it('lets no producer bind result keys outside its own tenant', () => {
  const definitions = rabbitmqDefinitions({ prefix: 'clearcut', vhost: 'v', tenants: ['acme'] });
  const producers = definitions.users.filter((user) => user.name.includes('producer'));
  expect(producers.map((user) => user.name)).toEqual(['clearcut-producer', 'clearcut-producer-acme']);
  for (const { name } of producers) {
    const topic = definitions.topic_permissions.find((entry) => entry.user === name);
    expect(topic?.exchange, name).toBe('clearcut.results');
    const read = new RegExp(topic!.read);
    for (const key of ['#', '*.#', '_.#', '_.*.rejected', 'globex.#'])
      expect(read.test(key), key).toBe(false);
  }
});

it("decides a looped event once when a producer routes its tenant's results into the jobs exchange", async () => {
  const tenant = await h.tenant();
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'out-bucket', '', 'write');
  const key = await h.key(tenant);
  // The widest route its topic permission allows: `<tenant>.#`.
  const channel = await h.broker.bus.channel();
  await channel.bindExchange(h.broker.names.jobsExchange, h.broker.names.resultsExchange, `${tenant}.#`);
  await channel.close();
  const auditBefore = await auditRows();

  const job = h.signed(key, jobBody('catalog', ['a.jpg']));
  await h.publish(job);
  expect((await h.decision(job.messageId)).kind).toBe('accepted');
  // The job, then the unsigned copy of its `accepted` event; every event they wrote was sent.
  await until(
    async () =>
      (await auditRows()) - auditBefore >= 2 &&
      (await h.db.query('SELECT 1 FROM outbox LIMIT 1')).length === 0 &&
      (await inboxIdle()),
    { what: 'the looped copy of the accepted event to be decided' },
  );
  // The copy's rejection is routed under `_`, which no producer can bind: it does not come back.
  await h.results.waitFor((messages) => messages.length >= 2);
  expect(h.results.messages.map((message) => message.routingKey.split('.').at(-1))).toEqual([
    'accepted',
    'rejected',
  ]);
  expect(h.results.messages[1]!.routingKey.startsWith('_.')).toBe(true);
  expect((await auditRows()) - auditBefore).toBe(2);
  expect(await inboxIdle()).toBe(true);
});
