import { loadConfig } from '../../config.js';
import { taskIdSchema } from '../../contracts/identifiers.js';
import { createDatabase } from '../../db/postgres.js';
import { UsageError } from '../../errors.js';
import { browseQueue, type QueueBrowse } from '../../queue/amqp-browse.js';
import { type AmqpBus, connectAmqpBus } from '../../queue/amqp-bus.js';
import { topologyNames } from '../../queue/topology.js';
import { workerTopology } from '../../queue/worker-topology.js';
import {
  type DeadLetterEntry,
  describeDeadLetter,
  isSelected,
  type ReplaySelection,
  replayDeadLetter,
} from '../../worker/dead-letter-admin.js';
import { runSubcommand } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { formatTable, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

/** More than this stays in the queue unseen; list says so. */
const browseLimit = 10_000;

async function withDeadLetters<T>(
  io: CliIo,
  work: (browse: QueueBrowse, bus: AmqpBus, config: ReturnType<typeof loadConfig>) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env);
  const names = topologyNames(config.broker.prefix);
  const queue = workerTopology(names, config.worker.retryDelaysMs).deadLetterQueue;
  const bus = await connectAmqpBus(config.broker.url, { connectionName: 'clearcut dlq' });
  try {
    let browse: QueueBrowse;
    try {
      browse = await browseQueue(bus, queue, browseLimit);
    } catch (error) {
      if (/NOT_FOUND/.test(String(error))) {
        throw new Error(
          `the dead-letter queue ${queue} does not exist yet: start a worker once (\`clearcut worker\`)`,
        );
      }
      throw error;
    }
    try {
      return await work(browse, bus, config);
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

function json(entry: DeadLetterEntry) {
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

export const run: Command = (args, io) =>
  runSubcommand(
    'dlq',
    'clearcut dlq: the dead-letter queue <prefix>.tasks.dead holds tasks that failed transiently CLEARCUT_MAX_ATTEMPTS times (or could not be read).',
    {
      list: {
        help: [
          'Usage: clearcut dlq list [--json]',
          '  Shows every dead-lettered task (tenant, job, item, source, attempts, last error) and leaves it in the queue.',
          '  --json      print one JSON array',
        ].join('\n'),
        run: async (rest, io) => {
          const { values } = parseCommandArgs(
            'dlq list',
            rest,
            { json: { type: 'boolean' } },
            { positionals: false },
          );
          return withDeadLetters(io, async ({ messages }) => {
            const entries = messages.map(describeDeadLetter);
            if (values.json) printJson(io, entries.map(json));
            else if (entries.length === 0) io.out('The dead-letter queue is empty.');
            else {
              io.out(
                formatTable(
                  ['TASK', 'TENANT', 'JOB', 'ITEM', 'SOURCE', 'ATTEMPTS', 'LAST ERROR'],
                  entries.map(row),
                ),
              );
              if (entries.length === browseLimit) io.out(`(showing the first ${browseLimit})`);
            }
            return 0;
          });
        },
      },
      replay: {
        help: [
          'Usage: clearcut dlq replay (--all | --job JOB | TASK...)',
          '  Re-opens each selected task and publishes it again with a fresh set of retries; it leaves the',
          '  dead-letter queue once republished. Unreadable tasks are never replayed.',
          '  --all       every dead-lettered task',
          '  --job JOB   the tasks of one job id',
          '  TASK        task ids, as `clearcut dlq list` shows them',
        ].join('\n'),
        run: async (rest, io) => {
          const { values, positionals } = parseCommandArgs('dlq replay', rest, {
            all: { type: 'boolean' },
            job: { type: 'string' },
          });
          const selection = replaySelection(values.all, values.job, positionals);
          return withDeadLetters(io, async ({ messages }, bus, config) => {
            const db = createDatabase(config.database);
            const publisher = await bus.publisher();
            const counts = { replayed: 0, already_succeeded: 0, no_row: 0 };
            try {
              for (const message of messages) {
                const entry = describeDeadLetter(message);
                if (entry.task === undefined || !isSelected(entry, selection)) continue;
                const result = await replayDeadLetter(db, publisher, topologyNames(config.broker.prefix), {
                  ...entry,
                  task: entry.task,
                });
                counts[result]++;
                message.ack();
              }
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
        },
      },
    },
    args,
    io,
  );
