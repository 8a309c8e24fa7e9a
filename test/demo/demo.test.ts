import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../infra/dev/demo/run-demo.js';
import { loadConfig } from '../../src/config.js';
import { gatewayTopology, topologyNames } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { testAmqpUrl, testDatabaseUrl } from '../support/environment.js';
import { testModelDir } from '../support/models.js';

// `npm run demo` end to end with a small catalog, in a schema and broker prefix of this test's own.

const namespace = `t_demo_${randomBytes(4).toString('hex')}`;
const env = {
  CLEARCUT_DATABASE_URL: testDatabaseUrl,
  CLEARCUT_AMQP_URL: testAmqpUrl,
  CLEARCUT_LOG_LEVEL: 'warn',
  CLEARCUT_MODEL_DIR: testModelDir,
  CLEARCUT_INFERENCE_THREADS: '1',
};
let outputDir: string | undefined;

afterAll(async () => {
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`);
  await client.end();
  const names = topologyNames(namespace);
  const retryDelays = loadConfig(env).worker.retryDelaysMs;
  const worker = workerTopology(names, retryDelays);
  const connection = await amqp.connect(testAmqpUrl);
  const channel = await connection.createChannel();
  const topology = gatewayTopology(names);
  for (const queue of [...topology.queues, ...worker.queues]) await channel.deleteQueue(queue.name);
  await channel.deleteQueue(worker.deadLetterQueue);
  for (const exchange of topology.exchanges) await channel.deleteExchange(exchange.name);
  await connection.close();
});

describe('npm run demo', () => {
  it('runs one signed catalog job through a real gateway and worker and downloads the outputs', async () => {
    outputDir = await mkdtemp(join(tmpdir(), 'clearcut-demo-'));
    const printed: string[] = [];
    let dashboardPage: { status: number; body: string } | undefined;
    const code = await runDemo({
      env,
      outputDir,
      namespace,
      images: 3,
      print: (line) => printed.push(line),
      // While the demo serves: the printed link signs in, and the session shows the demo's job.
      serve: async (url) => {
        // As the sign-in page's button does: the token posted from the dashboard's own origin.
        const link = new URL(url.replace('localhost', '127.0.0.1'));
        const signIn = await fetch(`${link.origin}/dashboard/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { origin: link.origin },
          body: new URLSearchParams({ token: link.searchParams.get('token') ?? '' }),
        });
        const cookie = /clearcut_dashboard=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '';
        const jobId = /submitted one signed job (\S+):/.exec(printed.join('\n'))?.[1] ?? '?';
        const page = await fetch(
          `${new URL(url).origin.replace('localhost', '127.0.0.1')}/dashboard/jobs/${jobId}`,
          {
            headers: { cookie },
          },
        );
        dashboardPage = { status: page.status, body: await page.text() };
      },
    });
    const text = printed.join('\n');
    expect(code, text).toBe(0);
    expect(text).toMatch(/SYNTHETIC stand-in|with the real weights/);
    expect(text).toMatch(/finished: 3 succeeded, 0 failed of 3/);
    expect(text).toMatch(
      /sign in once with:\n {2}http:\/\/localhost:\d+\/dashboard\/sign-in\?token=[\w-]{43}/,
    );
    expect(dashboardPage?.status).toBe(200);
    expect(dashboardPage?.body.match(/<main[\s\S]*<\/main>/)?.[0]).toMatch(
      /3 succeeded, 0 failed, 0 pending/,
    );

    const files = (await readdir(join(outputDir, 'products'))).sort();
    expect(files).toEqual(
      ['01', '02', '03'].flatMap((n) => [`product-${n}.cutout.png`, `product-${n}.white.jpg`]),
    );
    const [manifestName] = await readdir(join(outputDir, '_clearcut'));
    const manifest = (await readFile(join(outputDir, '_clearcut', manifestName!), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(manifest.map((line) => [line.item, line.status, line.outputs.length])).toEqual([
      [0, 'succeeded', 2],
      [1, 'succeeded', 2],
      [2, 'succeeded', 2],
    ]);
  }, 600_000);

  it('says how to start the services when they are not reachable', async () => {
    const down = { ...env, CLEARCUT_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' };
    await expect(runDemo({ env: down, outputDir: tmpdir(), namespace, print: () => {} })).rejects.toThrow(
      /RabbitMQ is not reachable at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1[\s\S]*infra\/compose\.yaml/,
    );
  });
});
