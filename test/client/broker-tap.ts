import amqp, { type ConsumeMessage } from 'amqplib';
import { testAmqpUrl } from '../support/environment.js';

// The two exchanges a producer touches, declared under a test prefix as the gateway declares them,
// with a queue on the jobs exchange that keeps every message with all its AMQP properties.

export interface JobsTap {
  readonly jobs: ConsumeMessage[];
  /** Declares `<prefix>.jobs` and `<prefix>.results` (the gateway's job). */
  declareExchanges(): Promise<void>;
  /** Resolves with the n-th job message (1-based) once it has arrived. */
  nthJob(n: number, timeoutMs?: number): Promise<ConsumeMessage>;
  /** Resolves with the job message of this message_id once it has arrived. */
  jobWithId(messageId: string, timeoutMs?: number): Promise<ConsumeMessage>;
  /** Publishes a raw result message to `<prefix>.results`. */
  publishResult(routingKey: string, body: unknown): Promise<void>;
  /** Calls `answer` for every job that arrives from now on (a stand-in gateway). */
  onJob(answer: (message: ConsumeMessage) => void): void;
  dispose(): Promise<void>;
}

export async function createJobsTap(prefix: string): Promise<JobsTap> {
  const connection = await amqp.connect(testAmqpUrl);
  const channel = await connection.createConfirmChannel();
  const jobs: ConsumeMessage[] = [];
  const listeners: ((message: ConsumeMessage) => void)[] = [];
  let declared = false;
  return {
    jobs,
    async declareExchanges() {
      await channel.assertExchange(`${prefix}.jobs`, 'fanout', { durable: true });
      await channel.assertExchange(`${prefix}.results`, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, `${prefix}.jobs`, '');
      await channel.consume(
        queue,
        (message) => {
          if (!message) return;
          jobs.push(message);
          for (const listener of listeners) listener(message);
        },
        { noAck: true },
      );
      declared = true;
    },
    nthJob(n, timeoutMs) {
      return arrival(() => jobs[n - 1], `job message ${n}`, timeoutMs);
    },
    jobWithId(messageId, timeoutMs) {
      return arrival(
        () => jobs.find((job) => job.properties.messageId === messageId),
        `job ${messageId}`,
        timeoutMs,
      );
    },
    async publishResult(routingKey, body) {
      const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      channel.publish(`${prefix}.results`, routingKey, content, { contentType: 'application/json' });
      await channel.waitForConfirms();
    },
    onJob(answer) {
      listeners.push(answer);
    },
    async dispose() {
      if (declared) {
        await channel.deleteExchange(`${prefix}.jobs`);
        await channel.deleteExchange(`${prefix}.results`);
      }
      await connection.close();
    },
  };
}

async function arrival<T>(find: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let found = find(); ; found = find()) {
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not arrive within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
