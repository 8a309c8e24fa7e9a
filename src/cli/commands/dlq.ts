import { loadConfig } from '../../config.js';
import { taskIdSchema } from '../../contracts/identifiers.js';
import { createDatabase } from '../../db/postgres.js';
import { UsageError } from '../../errors.js';
import { browseQueue, type QueueBrowse } from '../../queue/amqp-browse.js';
import { type AmqpBus, connectAmqpBus } from '../../queue/amqp-bus.js';
import {
  type DeadLetterStream,
  deadLetterStreams,
  type Topology,
  topologyNames,
} from '../../queue/topology.js';
import {
  type DeadLetterEntry,
  describeDeadLetter,
  type ReplayCounts,
  type ReplaySelection,
  replayTaskDeadLetters,
} from '../../worker/dead-letter-admin.js';
import {
  describeStreamDeadLetter,
  replayedMessage,
  type StreamDeadLetter,
} from '../../worker/dead-letter-streams.js';
import { runSubcommand } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { formatTable, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

/** More than this stays in the queue unseen; list says so. */
const browseLimit = 10_000;

/** Who may read each dead-letter queue with the shipped broker users (docs/operations.md). */
const readers: Record<DeadLetterStream, string> = {
  jobs: 'a gateway',
  events: 'a gateway',
  tasks: 'a worker',
};

function streamOf(value: string | undefined): DeadLetterStream {
  const stream = value ?? 'tasks';
  if (!(deadLetterStreams as readonly string[]).includes(stream)) {
    throw new UsageError(`clearcut dlq: --queue "${stream}" is not one of ${deadLetterStreams.join(', ')}`);
  }
  return stream as DeadLetterStream;
}

async function withDeadLetters<T>(
  io: CliIo,
  stream: DeadLetterStream,
  work: (
    browse: QueueBrowse,
    bus: AmqpBus,
    config: ReturnType<typeof loadConfig>,
    names: Topology,
  ) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env);
  const names = topologyNames(config.broker.prefix);
  const queue = names.deadLetterQueues[stream];
  const bus = await connectAmqpBus(config.broker.url, { connectionName: 'clearcut dlq' });
  try {
    let browse: QueueBrowse;
    try {
      browse = await browseQueue(bus, queue, browseLimit);
    } catch (error) {
      if (/NOT_FOUND/.test(String(error))) {
        throw new Error(
          `the dead-letter queue ${queue} does not exist yet: start a worker once (or a gateway: either declares it)`,
        );
      }
      if (/ACCESS_REFUSED/.test(String(error))) {
        throw new Error(`this broker user may not read ${queue}: use the credentials of ${readers[stream]}`);
      }
      throw error;
    }
    try {
      return await work(browse, bus, config, names);
    } finally {
      await browse.close();
    }
  } finally {
    await bus.close();
  }
}

function row(entry: DeadLetterEntry): string[] {
  const { task } = entry;
  return [
    task?.taskId ?? entry.messageId ?? '?',
    task?.tenant ?? '?',
    task?.jobId ?? '?',
    task === undefined ? '?' : String(task.item),
    task === undefined ? '(unreadable task)' : `s3://${task.source.bucket}/${task.source.key}`,
    String(entry.attempts),
    `${entry.code}: ${entry.message}`.slice(0, 120),
  ];
}

function taskJson(entry: DeadLetterEntry) {
  const { task } = entry;
  return {
    taskId: task?.taskId ?? null,
    tenant: task?.tenant ?? null,
    jobId: task?.jobId ?? null,
    item: task?.item ?? null,
    source: task?.source ?? null,
    lane: entry.lane,
    attempts: entry.attempts,
    error: { code: entry.code, message: entry.message },
    deadAt: entry.at || null,
  };
}

function replaySelection(all: boolean | undefined, job: string | undefined, ids: string[]): ReplaySelection {
  const given = [all === true, job !== undefined, ids.length > 0].filter(Boolean).length;
  if (given !== 1) {
    throw new UsageError(
      'clearcut dlq replay: give exactly one of --all, --job JOB or task ids (see `clearcut dlq replay --help`)',
    );
  }
  if (all) return { all: true };
  if (job !== undefined) return { jobId: job };
  for (const id of ids) {
    if (!taskIdSchema.safeParse(id).success) {
      throw new UsageError(
        `clearcut dlq replay: "${id}" is not a task id (the TASK column of \`clearcut dlq list\`)`,
      );
    }
  }
  return { taskIds: new Set(ids) };
}

function listTasks(io: CliIo, json: boolean) {
  return withDeadLetters(io, 'tasks', async ({ messages }) => {
    const entries = messages.map(describeDeadLetter);
    if (json) printJson(io, entries.map(taskJson));
    else if (entries.length === 0) io.out('The tasks dead-letter queue is empty.');
    else {
      io.out(
        formatTable(['TASK', 'TENANT', 'JOB', 'ITEM', 'SOURCE', 'ATTEMPTS', 'LAST ERROR'], entries.map(row)),
      );
      if (entries.length === browseLimit) io.out(`(showing the first ${browseLimit})`);
    }
    return 0;
  });
}

function streamJson(entry: StreamDeadLetter) {
  return {
    messageId: entry.messageId ?? null,
    keyId: entry.keyId ?? null,
    bytes: entry.bytes,
    reason: entry.reason,
    deadAt: entry.deadAt || null,
  };
}

function listStream(io: CliIo, stream: 'jobs' | 'events', json: boolean) {
  return withDeadLetters(io, stream, async ({ messages }) => {
    const entries = messages.map(describeStreamDeadLetter);
    if (json) printJson(io, entries.map(streamJson));
    else if (entries.length === 0) io.out(`The ${stream} dead-letter queue is empty.`);
    else {
      io.out(
        formatTable(
          ['MESSAGE', 'KEY', 'BYTES', 'REASON', 'DEAD AT'],
          entries.map((e) => [
            e.messageId ?? '?',
            e.keyId ?? '-',
            String(e.bytes),
            e.reason,
            e.deadAt || '-',
          ]),
        ),
      );
      if (entries.length === browseLimit) io.out(`(showing the first ${browseLimit})`);
    }
    return 0;
  });
}

function replayTasks(io: CliIo, selection: ReplaySelection) {
  return withDeadLetters(io, 'tasks', async ({ messages }, bus, config, names) => {
    const db = createDatabase(config.database);
    const publisher = await bus.publisher();
    let counts: ReplayCounts;
    try {
      counts = await replayTaskDeadLetters(db, publisher, names, messages, selection);
    } finally {
      await publisher.close();
      await db.close();
    }
    io.out(
      `Replayed ${counts.replayed} task(s)` +
        (counts.already_succeeded > 0
          ? `; dropped ${counts.already_succeeded} that had succeeded since`
          : '') +
        (counts.no_row > 0 ? `; dropped ${counts.no_row} whose task row no longer exists` : '') +
        '.',
    );
    if (
      'taskIds' in selection &&
      counts.replayed + counts.already_succeeded + counts.no_row < selection.taskIds.size
    ) {
      io.err('Some of the given task ids are not in the dead-letter queue.');
      return 1;
    }
    return 0;
  });
}

/** Republishes each selected message unchanged to its stream's exchange, then removes it. */
function replayStream(io: CliIo, stream: 'jobs' | 'events', ids: ReadonlySet<string> | 'all') {
  return withDeadLetters(io, stream, async ({ messages }, bus, _config, names) => {
    const exchange = stream === 'jobs' ? names.jobsExchange : names.eventsExchange;
    const publisher = await bus.publisher();
    let replayed = 0;
    try {
      for (const message of messages) {
        const { messageId } = describeStreamDeadLetter(message);
        if (ids !== 'all' && (messageId === undefined || !ids.has(messageId))) continue;
        await publisher.publish([replayedMessage(exchange, message)]);
        message.ack();
        replayed++;
      }
    } finally {
      await publisher.close();
    }
    io.out(`Replayed ${replayed} message(s) to ${exchange}.`);
    if (ids !== 'all' && replayed < ids.size) {
      io.err(`Some of the given message ids are not in the ${stream} dead-letter queue.`);
      return 1;
    }
    return 0;
  });
}

const queueHelp =
  "  --queue Q   jobs, events or tasks (default tasks); jobs and events need a gateway's broker user, tasks a worker's";

export const run: Command = (args, io) =>
  runSubcommand(
    'dlq',
    'clearcut dlq: the dead-letter queues <prefix>.jobs.dead, <prefix>.events.dead and <prefix>.tasks.dead hold messages that crashed their consumers too often, and tasks that failed transiently CLEARCUT_MAX_ATTEMPTS times (or could not be read).',
    {
      list: {
        help: [
          'Usage: clearcut dlq list [--queue jobs|events|tasks] [--json]',
          '  Shows every dead letter and leaves it in the queue: for tasks the tenant, job, item, source,',
          '  attempts and last error; for jobs and events the message id, key id, size, reason and time.',
          queueHelp,
          '  --json      print one JSON array',
        ].join('\n'),
        run: async (rest, io) => {
          const { values } = parseCommandArgs(
            'dlq list',
            rest,
            { json: { type: 'boolean' }, queue: { type: 'string' } },
            { positionals: false },
          );
          const stream = streamOf(values.queue);
          const json = values.json === true;
          return stream === 'tasks' ? listTasks(io, json) : listStream(io, stream, json);
        },
      },
      replay: {
        help: [
          'Usage: clearcut dlq replay [--queue tasks] (--all | --job JOB | TASK...)',
          '       clearcut dlq replay --queue jobs|events (--all | MESSAGE...)',
          '  Tasks: re-opens each selected task and publishes it again with a fresh set of retries; it',
          '  leaves the dead-letter queue once republished. Unreadable tasks are never replayed.',
          '  Jobs and events: republishes each selected message unchanged to <prefix>.jobs or',
          '  <prefix>.events (a job is decided again: a stale timestamp is rejected, an admitted job',
          '  is recognised), then removes it.',
          queueHelp,
          '  --all       every dead letter of the queue',
          '  --job JOB   the tasks of one job id',
          '  TASK        task ids, as `clearcut dlq list` shows them',
          '  MESSAGE     message ids, as `clearcut dlq list --queue jobs|events` shows them',
        ].join('\n'),
        run: async (rest, io) => {
          const { values, positionals } = parseCommandArgs('dlq replay', rest, {
            all: { type: 'boolean' },
            job: { type: 'string' },
            queue: { type: 'string' },
          });
          const stream = streamOf(values.queue);
          if (stream === 'tasks')
            return replayTasks(io, replaySelection(values.all, values.job, positionals));
          if (values.job !== undefined || (values.all === true) === positionals.length > 0) {
            throw new UsageError(
              `clearcut dlq replay --queue ${stream}: give either --all or message ids (see \`clearcut dlq replay --help\`)`,
            );
          }
          return replayStream(io, stream, values.all === true ? 'all' : new Set(positionals));
        },
      },
    },
    args,
    io,
  );
