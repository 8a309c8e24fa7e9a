import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ApiError,
  createHttpClient,
  createProducer,
  describeResultEvent,
  type HttpClient,
  InvalidJobError,
  type JobRequest,
  type ResultEvent,
} from '../../client/index.js';
import { parseDuration } from '../../config/parsers.js';
import { type Config, loadConfig } from '../../config.js';
import { tenantIdPattern } from '../../contracts/identifiers.js';
import { parseS3Uri } from '../../contracts/object-keys.js';
import { parseRenditionShorthand, type RenditionInput } from '../../contracts/renditions.js';
import { errorMessage, UsageError } from '../../errors.js';
import { KeyFormatError } from '../../signing/errors.js';
import { parseCommandArgs } from '../args.js';
import type { CliIo, Command } from '../io.js';
import { keyFlagOptions, keyFlagsUsage, readKeyFlags } from '../key-flags.js';

const usage = `Usage: clearcut submit [input] --output s3://BUCKET/PREFIX [options]
       clearcut submit --body FILE|- [options]

Signs a job with your key and publishes it to the <prefix>.jobs exchange; prints the job id.
With --http URL it submits through the HTTP API instead and prints the job id and its status URL.

Input (one of):
  --bucket B --key K            one object (repeat --key for several)
  --bucket B --keys K1,K2,...   up to 1000 objects (use --key or --body for keys containing commas)
  --bucket B --prefix P         every object under a prefix
  --manifest s3://B/K           a JSONL or CSV listing [--manifest-format jsonl|csv]
  --body FILE|-                 the whole job as JSON (docs/protocol.md), from a file or stdin

Job:
  --output s3://B/PREFIX        where outputs go (required unless --body)
  --rendition LIST              kind[:format],... e.g. cutout,mask or cutout:webp,white:jpeg (default cutout)
  --model NAME                  model (default: the gateway's CLEARCUT_MODEL)
  --priority normal|high        high uses the priority lane when the tenant's tier allows
  --metadata JSON               a JSON object echoed in result events (≤ 4 KiB)
  --output-key-template T       e.g. "{dir}{name}-{rendition}.{ext}" (default "{key}.{rendition}.{ext}")
  --job-id ID                   idempotency key (default: a random UUID); a repeated id never runs twice

Signing (flags win over the environment):
${keyFlagsUsage}

Transport:
  --http URL                    POST /v1/jobs to the HTTP API at URL (e.g. https://api.example.com)
                                instead of publishing to the broker; its answer is the decision, so
                                --wait, --follow, --tenant and --timeout do not apply

Following results (only your tenant's events are ever bound):
  --tenant T                    the signing key's tenant (required with --wait and --follow)
  --wait                        wait until the gateway accepts or rejects the job
  --follow                      print every result event until the job completes
  --timeout DURATION            give up waiting after this long (default 60s with --wait, none with --follow)
  --json                        print the job id and events as JSON lines

Exit status: 0 done, 1 error, 2 bad usage, 3 rejected (reason printed), 4 timed out,
5 completed with failed items.`;

const options = {
  help: { type: 'boolean', short: 'h' },
  bucket: { type: 'string' },
  key: { type: 'string', multiple: true },
  keys: { type: 'string' },
  prefix: { type: 'string' },
  manifest: { type: 'string' },
  'manifest-format': { type: 'string' },
  body: { type: 'string' },
  output: { type: 'string' },
  rendition: { type: 'string' },
  model: { type: 'string' },
  priority: { type: 'string' },
  metadata: { type: 'string' },
  'output-key-template': { type: 'string' },
  'job-id': { type: 'string' },
  ...keyFlagOptions,
  http: { type: 'string' },
  tenant: { type: 'string' },
  wait: { type: 'boolean' },
  follow: { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

export const exitCodes = { rejected: 3, timedOut: 4, itemsFailed: 5 } as const;

function fail(message: string): never {
  throw new UsageError(`clearcut submit: ${message} (see \`clearcut submit --help\`)`);
}

/** Result events are routed by tenant: following binds `<tenant>.<job id>.#` and nothing wider. */
function readTenant(tenant: string | undefined): string {
  if (tenant === undefined) fail('--wait and --follow need --tenant T (the tenant of your signing key)');
  if (!tenantIdPattern.test(tenant))
    fail(`--tenant "${tenant}" is not a tenant id (a lowercase letter, then a-z 0-9 -)`);
  return tenant;
}

export const run: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('submit', args, options, { positionals: false });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}"`);
  const config = loadConfig(io.env);
  const job = values.body !== undefined ? await jobFromBody(values) : jobFromFlags(values);
  if (values.http !== undefined) return submitOverHttp(values.http, job, values, config, io);
  const follow = values.follow === true;
  const wait = values.wait === true || follow;
  const timeoutMs = readTimeout(values.timeout, follow ? 0 : 60_000);
  const tenant = wait ? readTenant(values.tenant) : undefined;
  const { keyId, secret } = await readKeyFlags('submit', values, config);
  const producer = await createProducer({
    amqpUrl: config.broker.url,
    prefix: config.broker.prefix,
    keyId,
    secret,
    connectionName: 'clearcut-submit',
  }).catch((error: unknown) => {
    if (error instanceof KeyFormatError) fail(`key: ${error.message}`);
    throw error;
  });
  try {
    const jobId = values['job-id'] ?? randomUUID();
    const follower = tenant === undefined ? undefined : await producer.followResults(jobId, { tenant });
    await producer.submit(job, { jobId }).catch((error: unknown) => {
      if (error instanceof InvalidJobError) fail(error.message);
      throw error;
    });
    io.out(values.json ? JSON.stringify({ jobId }) : jobId);
    if (!follower) return 0;
    return await followUntil(
      follower,
      { follow, timeoutMs, json: values.json === true, prefix: config.broker.prefix, tenant: tenant! },
      io,
    );
  } finally {
    await producer.close();
  }
};

/** POST /v1/jobs: the answer is the admission decision, so there is nothing to wait for or follow. */
async function submitOverHttp(
  url: string,
  job: JobRequest,
  values: Values,
  config: Config,
  io: CliIo,
): Promise<number> {
  const following = (['wait', 'follow', 'tenant', 'timeout'] as const).find(
    (name) => values[name] !== undefined,
  );
  if (following) {
    fail(
      `--${following} does not go with --http: the answer is the decision (read the job at its status URL)`,
    );
  }
  const { keyId, secret } = await readKeyFlags('submit', values, config);
  let client: HttpClient;
  try {
    client = createHttpClient({ url, keyId, secret });
  } catch (error) {
    if (error instanceof KeyFormatError) fail(`key: ${error.message}`);
    fail(`--http: ${errorMessage(error)}`);
  }
  try {
    const submitted = await client.submit(job, { jobId: values['job-id'] ?? randomUUID() });
    io.out(values.json ? JSON.stringify(submitted) : `${submitted.jobId}\n${submitted.statusUrl}`);
    return 0;
  } catch (error) {
    if (error instanceof InvalidJobError) fail(error.message);
    if (!(error instanceof ApiError)) throw error;
    const { status, reason, detail, problems, retryAfterSeconds } = error;
    if (values.json) io.out(JSON.stringify({ status, reason, detail, problems, retryAfterSeconds }));
    io.err(
      `clearcut submit: refused (${reason}, HTTP ${status}): ${detail}${problems ? `\n  ${problems.join('\n  ')}` : ''}`,
    );
    return exitCodes.rejected;
  }
}

function jobFromFlags(values: Values): JobRequest {
  const output = values.output ?? fail('--output s3://BUCKET/PREFIX is required');
  const { bucket: outputBucket, path: outputPrefix } = s3Uri('--output', output);
  return {
    input: inputFromFlags(values),
    output: { bucket: outputBucket, prefix: outputPrefix },
    ...(values.rendition !== undefined && { renditions: parseRenditions(values.rendition) }),
    ...(values.model !== undefined && { model: values.model }),
    ...(values.priority !== undefined && {
      priority: oneOf('--priority', values.priority, ['normal', 'high']),
    }),
    ...(values.metadata !== undefined && {
      metadata: parseJsonObject('--metadata', values.metadata) as JobRequest['metadata'],
    }),
    ...(values['output-key-template'] !== undefined && { outputKeyTemplate: values['output-key-template'] }),
  };
}

function inputFromFlags(values: Values): JobRequest['input'] {
  const keys = [...(values.key ?? []), ...(values.keys?.split(',').filter((key) => key !== '') ?? [])];
  const forms = [keys.length > 0, values.prefix !== undefined, values.manifest !== undefined].filter(Boolean);
  if (forms.length !== 1) fail('give exactly one input: --key/--keys, --prefix, --manifest, or --body');
  if (values['manifest-format'] !== undefined && values.manifest === undefined) {
    fail('--manifest-format goes with --manifest');
  }
  if (values.manifest !== undefined) {
    if (values.bucket !== undefined) fail('--bucket does not go with --manifest (the URI names the bucket)');
    const { bucket, path: key } = s3Uri('--manifest', values.manifest);
    if (key === '') fail(`--manifest ${values.manifest} names no object`);
    const format = values['manifest-format'];
    return {
      manifest: {
        bucket,
        key,
        ...(format !== undefined && { format: oneOf('--manifest-format', format, ['jsonl', 'csv']) }),
      },
    };
  }
  const bucket = values.bucket ?? fail('--bucket is required with --key, --keys or --prefix');
  if (values.prefix !== undefined) return { bucket, prefix: values.prefix };
  return keys.length === 1 ? { bucket, key: keys[0]! } : { bucket, keys };
}

async function jobFromBody(values: Values): Promise<JobRequest> {
  // Flags that say how to sign, send and follow the job; every other flag describes the job itself.
  const notJob = [
    'help',
    'body',
    'job-id',
    'key-id',
    'key-secret',
    'key-secret-file',
    'http',
    'tenant',
    'wait',
    'follow',
    'timeout',
    'json',
  ];
  const clash = (Object.keys(options) as (keyof Values)[]).find(
    (name) => !notJob.includes(name) && values[name] !== undefined,
  );
  if (clash) fail(`--${clash} does not go with --body (put it in the JSON)`);
  const source = values.body!;
  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    fail(`--body ${source}: ${errorMessage(error)}`);
  }
  return parseJsonObject(`--body ${source}`, text) as JobRequest;
}

function parseRenditions(list: string): RenditionInput[] {
  try {
    // Unchecked kinds and formats: the job schema names the allowed values.
    return parseRenditionShorthand(list) as RenditionInput[];
  } catch (error) {
    fail(`--rendition ${errorMessage(error)}`);
  }
}

function s3Uri(flag: string, uri: string): { bucket: string; path: string } {
  try {
    return parseS3Uri(uri);
  } catch (error) {
    fail(`${flag}: ${errorMessage(error)}`);
  }
}

function parseJsonObject(what: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(`${what} is not JSON: ${errorMessage(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function oneOf<const T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) fail(`${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function readTimeout(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const ms = text === '0' ? 0 : parseDuration(text);
  if (ms === undefined) fail(`--timeout "${text}" is not a duration such as 30s, 5m or 0 (no limit)`);
  return ms;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface FollowSettings {
  readonly follow: boolean;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly prefix: string;
  readonly tenant: string;
}

/** Prints events until the decision (or, with --follow, job.completed); returns the exit status. */
async function followUntil(
  follower: AsyncIterable<ResultEvent> & { close(): Promise<void> },
  settings: FollowSettings,
  io: CliIo,
): Promise<number> {
  let timedOut = false;
  const timer =
    settings.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          void follower.close();
        }, settings.timeoutMs)
      : undefined;
  try {
    for await (const event of follower) {
      io.out(settings.json ? JSON.stringify(event) : describeResultEvent(event));
      if (event.kind === 'rejected') {
        if (!settings.json) io.err(`clearcut submit: rejected (${event.reason}): ${event.message}`);
        return exitCodes.rejected;
      }
      if (event.kind === 'accepted' && !settings.follow) return 0;
      if (event.kind === 'job.completed') return event.failed > 0 ? exitCodes.itemsFailed : 0;
    }
  } finally {
    clearTimeout(timer);
    await follower.close();
  }
  if (!timedOut) throw new Error('the result stream ended before the job did (connection lost?)');
  io.err(
    `clearcut submit: no ${settings.follow ? 'job.completed' : 'decision'} within ${settings.timeoutMs / 1000}s; ` +
      `is a gateway consuming ${settings.prefix}.jobs.inbox, and is ${settings.tenant} the tenant of the signing key? ` +
      "(events are routed by the key's tenant: another --tenant hears nothing)",
  );
  return exitCodes.timedOut;
}
