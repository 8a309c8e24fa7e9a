import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { runCli } from '../support/cli.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// `clearcut triggers` through the CLI's main(), against PostgreSQL; with --minio-arn the minio
// client talks to a small S3 stand-in that keeps the bucket's notification XML and records every
// request, so the test sees exactly what MinIO would receive.

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

const otherTarget = `<NotificationConfiguration><QueueConfiguration><Id>thumbnails</Id><Queue>arn:minio:sqs::thumbs:webhook</Queue><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>suffix</Name><Value>.gif</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`;

let environment: TestEnvironment;
let db: Database;
let server: Server;
let notification = otherTarget;
let failPuts = false;
const requests: Recorded[] = [];
let env: Record<string, string | undefined>;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: request.method!, url: request.url!, body });
      response.setHeader('Content-Type', 'application/xml');
      if (!request.url!.includes('notification')) {
        response.statusCode = 400;
        response.end('<Error><Code>Unexpected</Code></Error>');
      } else if (request.method === 'GET') response.end(notification);
      else if (request.method === 'PUT' && failPuts) {
        response.statusCode = 500;
        response.end('<Error><Code>InternalError</Code><Message>disk on fire</Message></Error>');
      } else if (request.method === 'PUT') {
        notification = body;
        response.end();
      } else {
        response.statusCode = 405;
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  environment = await createTestEnvironment('triggers cli', {
    CLEARCUT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    CLEARCUT_S3_ACCESS_KEY_ID: 'clearcut',
    CLEARCUT_S3_SECRET_ACCESS_KEY: 'not-a-real-secret',
  });
  env = { ...environment.env };
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'pro');
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
  await new Promise((resolve) => server?.close(resolve));
});

const cli = (...argv: string[]) => runCli(env, 'triggers', ...argv);
const listed = async () =>
  JSON.parse((await cli('list', '--json')).out) as { id: string; enabled: boolean }[];

describe('clearcut triggers', () => {
  it('adds a rule and configures the MinIO bucket notification, keeping the other entries', async () => {
    requests.length = 0;
    const added = await cli(
      'add',
      '--tenant=acme',
      '--bucket=photos-in',
      '--prefix=uploads/',
      '--suffix=.jpg,.png',
      '--output=s3://photos-out/cut/',
      '--rendition=cutout:webp,mask',
      '--minio-arn=arn:minio:sqs::clearcut:amqp',
    );
    expect(added.err).toContain('warning: acme has no read grant on s3://photos-in/uploads/');
    expect(added.status).toBe(0);
    const [rule] = await listed();
    expect(added.out).toBe(
      `Added trigger ${rule!.id}: s3://photos-in/uploads/* (.jpg, .png) → s3://photos-out/cut/ for acme; bucket notification → arn:minio:sqs::clearcut:amqp.`,
    );
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /photos-in?notification',
      'PUT /photos-in?notification',
    ]);
    const xml = requests[1]!.body;
    // The existing target survives the replace, and ours has one entry per suffix (S3 allows one suffix rule per entry).
    expect(xml).toContain('<Id>thumbnails</Id>');
    expect(xml).toContain('<Queue>arn:minio:sqs::thumbs:webhook</Queue>');
    expect(xml).toContain('<Value>.gif</Value>');
    const ours = [...xml.matchAll(/<QueueConfiguration>(.*?)<\/QueueConfiguration>/gs)]
      .map((m) => m[1]!)
      .filter((entry) => entry.includes('clearcut-trigger'));
    expect(ours).toHaveLength(2);
    ours.forEach((entry, index) => {
      expect(entry).toContain(`<Id>clearcut-trigger-${rule!.id}-${index}</Id>`);
      expect(entry).toContain('<Queue>arn:minio:sqs::clearcut:amqp</Queue>');
      expect(entry).toContain('<Event>s3:ObjectCreated:*</Event>');
      expect(entry).toContain('<FilterRule><Name>prefix</Name><Value>uploads/</Value></FilterRule>');
      expect(entry).toContain(
        `<FilterRule><Name>suffix</Name><Value>${['.jpg', '.png'][index]}</Value></FilterRule>`,
      );
    });
  });

  it('lists, disables, enables and removes rules; removal takes its notification entries away', async () => {
    const [rule] = await listed();
    const table = await cli('list', '--tenant', 'acme');
    expect(table.out).toMatch(/ID\s+TENANT\s+STATE/);
    expect(table.out).toContain('s3://photos-in/uploads/');
    expect(table.out).toContain('cutout:webp,mask:png');

    expect((await cli('disable', rule!.id)).out).toContain(`Trigger ${rule!.id} disabled`);
    expect((await listed())[0]!.enabled).toBe(false);
    expect((await cli('enable', rule!.id)).status).toBe(0);
    expect((await listed())[0]!.enabled).toBe(true);

    requests.length = 0;
    const removed = await cli('remove', rule!.id);
    expect(removed.status).toBe(0);
    expect(removed.out).toContain('bucket notification entries removed');
    expect(requests.map((r) => r.method)).toEqual(['GET', 'PUT']);
    expect(requests[1]!.body).toContain('<Id>thumbnails</Id>');
    expect(requests[1]!.body).not.toContain('clearcut-trigger');
    expect(await listed()).toEqual([]);
    const actions = (await listAudit(db, { tenantId: 'acme' }))
      .map((row) => row.outcome)
      .filter((outcome) => outcome.startsWith('trigger.'));
    expect(actions).toEqual(['trigger.added', 'trigger.disabled', 'trigger.enabled', 'trigger.removed']);
  });

  it('adds no rule when MinIO refuses the notification', async () => {
    failPuts = true;
    try {
      const added = await cli(
        'add',
        '--tenant=acme',
        '--bucket=photos-in',
        '--output=s3://photos-out/cut/',
        '--minio-arn=arn:minio:sqs::clearcut:amqp',
      );
      expect(added.status).toBe(1);
      expect(added.err).toContain('could not configure the notification of bucket photos-in');
      expect(added.err).toContain('trigger not added');
      expect(await listed()).toEqual([]);
    } finally {
      failPuts = false;
    }
  });

  it.each([
    [['add', '--tenant=acme', '--bucket=in-bucket'], '--output is required'],
    [['add', '--tenant=acme', '--bucket=in-bucket', '--output=photos-out/cut/'], 'is not an s3:// URI'],
    [['add', '--tenant=acme', '--bucket=in-bucket', '--output=s3://out-bucket/cut'], 'must end with "/"'],
    [['add', '--tenant=acme', '--bucket=Bad_Bucket', '--output=s3://out-bucket/'], '--bucket "Bad_Bucket"'],
    [
      ['add', '--tenant=acme', '--bucket=same-bucket', '--prefix=out/in/', '--output=s3://same-bucket/out/'],
      'every event would be ignored',
    ],
    [
      ['add', '--tenant=acme', '--bucket=in-bucket', '--output=s3://out-bucket/', '--rendition=sepia'],
      '--rendition',
    ],
    [
      ['add', '--tenant=acme', '--bucket=in-bucket', '--output=s3://out-bucket/', '--model=gpt'],
      '--model: model "gpt" is not known',
    ],
    [
      ['add', '--tenant=acme', '--bucket=in-bucket', '--output=s3://out-bucket/', '--minio-arn=minio'],
      'is not a queue ARN',
    ],
    [
      ['add', '--tenant=acme', '--bucket=in-bucket', '--output=s3://out-bucket/', '--suffix=a/b'],
      '--suffix "a/b"',
    ],
    [['remove', 'seven'], '"seven" is not a trigger id'],
    [['remove', '999'], 'there is no trigger 999'],
    [['disable'], 'expected ID'],
    [['frobnicate'], 'unknown subcommand "frobnicate"'],
  ])('refuses %j with a precise message', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.status).toBe(2);
    expect(result.err).toContain(message);
  });

  it('names the tenant that does not exist, and asks for S3 settings before touching MinIO', async () => {
    const unknown = await cli('add', '--tenant=nobody', '--bucket=in-bucket', '--output=s3://out-bucket/');
    expect(unknown.status).toBe(1);
    expect(unknown.err).toContain('tenant "nobody" does not exist');
    const { CLEARCUT_S3_ENDPOINT: _, ...withoutEndpoint } = env;
    const noMinio = await runCli(
      withoutEndpoint,
      'triggers',
      'add',
      '--tenant=acme',
      '--bucket=in-bucket',
      '--output=s3://out-bucket/',
      '--minio-arn=arn:minio:sqs::clearcut:amqp',
    );
    expect(noMinio.status).toBe(2);
    expect(noMinio.err).toContain('set CLEARCUT_S3_ENDPOINT');
    expect(await listed()).toEqual([]);
  });
});
