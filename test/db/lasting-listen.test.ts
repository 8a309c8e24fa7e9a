import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { listenLasting } from '../../src/db/lasting-listen.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { startHoldingProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';

// A LISTEN whose connection the server ends (PostgreSQL restarting, an admin's
// pg_terminate_backend) says so, subscribes again by itself, and hears notices again after that.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('lasting listen');
  db = createDatabase(environment.config.database);
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

it('subscribes again after its connection is lost, and hears what is sent after that', async () => {
  const heard: string[] = [];
  const events: string[] = [];
  const channel = 'lasting_test';
  const listening = await listenLasting(db, channel, (payload) => heard.push(payload), {
    onSubscribed: () => events.push('subscribed'),
    onLost: () => events.push('lost'),
  });
  try {
    await db.notify(channel, 'one');
    await until(() => heard.includes('one'), { what: 'the first notice' });

    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "%${channel}"'`,
    );
    await until(() => events.length === 3, { what: 'the listen to be lost and made again' });
    expect(events).toEqual(['subscribed', 'lost', 'subscribed']);

    await db.notify(channel, 'two');
    await until(() => heard.includes('two'), { what: 'a notice after the new subscription' });
    expect(heard).toEqual(['one', 'two']);
  } finally {
    await listening.stop();
  }
});

/** A lasting listen on `channel` whose connections go through a proxy the test controls. */
async function listenThroughProxy(
  channel: string,
  connectTimeoutMs = environment.config.database.connectTimeoutMs,
) {
  const target = new URL(environment.config.database.url);
  const refusedAt: number[] = [];
  let attempts = 0;
  const proxy = await startHoldingProxy({ host: target.hostname, port: Number(target.port) }, (refused) => {
    attempts++;
    if (refused) refusedAt.push(performance.now());
  });
  const proxied = new URL(target);
  proxied.port = String(proxy.port);
  const viaProxy = createDatabase({
    ...environment.config.database,
    url: proxied.toString(),
    connectTimeoutMs,
  });
  const heard: string[] = [];
  const events: string[] = [];
  const listening = await listenLasting(viaProxy, channel, (payload) => heard.push(payload), {
    onSubscribed: () => events.push('subscribed'),
    onLost: () => events.push('lost'),
  });
  return {
    proxy,
    heard,
    events,
    refusedAt,
    attempts: () => attempts,
    /** Lost, made again, and hearing notices sent after that. */
    async listensAgain() {
      await until(() => events.length === 3, { what: 'the listen to be made again' });
      expect(events).toEqual(['subscribed', 'lost', 'subscribed']);
      await db.notify(channel, 'after');
      await until(() => heard.includes('after'), { what: 'a notice after the server answered again' });
    },
    async close() {
      await listening.stop();
      await viaProxy.close();
      await proxy.close();
    },
  };
}

it('while the server refuses, retries one connection at a time with growing gaps, then listens again', async () => {
  const listen = await listenThroughProxy('lasting_refused');
  try {
    listen.proxy.refuse(true);
    listen.proxy.sever();
    // 250 + 500 + 1000 ms of backoff: four attempts. Each failed attempt used to start two more
    // chains, so attempts came in bursts of growing size (thousands within seconds).
    await until(() => listen.refusedAt.length >= 4, { what: 'four refused attempts' });
    const gaps = listen.refusedAt.slice(1).map((at, index) => at - listen.refusedAt[index]!);
    for (const [index, gap] of gaps.entries()) {
      const backoff = 500 * 2 ** index;
      expect(gap, `gap ${index + 1} of ${gaps.map(Math.round).join(', ')} ms`).toBeGreaterThan(0.9 * backoff);
    }
    expect(listen.events).toEqual(['subscribed', 'lost']);
    listen.proxy.refuse(false);
    await listen.listensAgain();
  } finally {
    await listen.close();
  }
});

it('gives up a reconnect the server never answers after CLEARCUT_DATABASE_CONNECT_TIMEOUT, and tries again', async () => {
  const listen = await listenThroughProxy('lasting_swallowed', 300);
  try {
    // the server looks alive but swallows everything: without a timeout the first reconnect
    // waited for ever and was the only attempt there would be
    listen.proxy.hold(true);
    listen.proxy.sever();
    await until(() => listen.attempts() >= 3, { what: 'two connection attempts after the first while held' });
    listen.proxy.hold(false);
    await listen.listensAgain();
  } finally {
    await listen.close();
  }
});
