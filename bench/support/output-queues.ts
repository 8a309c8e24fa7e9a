// What a gateway (or a bench stand-in for one) put out: the tasks queue of the real topology and a
// queue of the bench's own bound to the results exchange, counted by the broker. A benchmark that
// lost or doubled a job's task or event must not report a rate, so `allOut` throws for either.
import type { Channel } from 'amqplib';
import type { Topology } from '../../src/queue/topology.js';

export interface OutputQueues {
  /** Tasks and result events put out so far, those purged since included. */
  counts(): Promise<{ tasks: number; events: number }>;
  /**
   * Waits until `tasks` and `events` are out (counted as in `counts`) and the inbox is empty, then
   * checks that no more arrive; returns when the last arrived (performance.now()).
   */
  allOut(events: number, tasks: number): Promise<{ at: number }>;
  /** Empties both queues (the counts keep what they held). */
  purge(): Promise<void>;
  remove(): Promise<void>;
}

const stallMs = 60_000;
const settleMs = 500;

/** Declares the events queue (bound to every result) beside the topology's tasks queue. */
export async function outputQueues(
  channel: Channel,
  names: Topology,
  type: 'quorum' | 'classic' = 'quorum',
): Promise<OutputQueues> {
  const eventsQueue = `${names.resultsExchange}.bench-count`;
  await channel.assertQueue(eventsQueue, { durable: true, arguments: { 'x-queue-type': type } });
  await channel.bindQueue(eventsQueue, names.resultsExchange, '#');
  const purged = { tasks: 0, events: 0 };
  const ready = async (queue: string) => (await channel.checkQueue(queue)).messageCount;
  const counts = async () => ({
    tasks: purged.tasks + (await ready(names.tasksQueue)),
    events: purged.events + (await ready(eventsQueue)),
  });
  const describe = (now: { tasks: number; events: number }, events: number, tasks: number) =>
    `${now.tasks} of ${tasks} tasks and ${now.events} of ${events} result events`;

  return {
    counts,
    async allOut(events, tasks) {
      let last = await counts();
      let changedAt = performance.now();
      while (last.tasks < tasks || last.events < events || (await ready(names.jobsQueue)) > 0) {
        if (last.tasks > tasks || last.events > events) break;
        if (performance.now() - changedAt > stallMs) {
          throw new Error(`lost: no progress for ${stallMs / 1000} s at ${describe(last, events, tasks)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        const now = await counts();
        if (now.tasks !== last.tasks || now.events !== last.events) changedAt = performance.now();
        last = now;
      }
      const at = changedAt;
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const settled = await counts();
      if (settled.tasks !== tasks || settled.events !== events) {
        throw new Error(`doubled or lost: ${describe(settled, events, tasks)} once the inbox was empty`);
      }
      return { at };
    },
    async purge() {
      purged.tasks += (await channel.purgeQueue(names.tasksQueue)).messageCount;
      purged.events += (await channel.purgeQueue(eventsQueue)).messageCount;
    },
    async remove() {
      await channel.deleteQueue(eventsQueue).catch(() => {});
    },
  };
}
