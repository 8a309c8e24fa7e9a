import type { AmqpBus } from '../../src/queue/amqp-bus.js';
import { gatewayTopology, type Topology } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';

/** Deletes a benchmark's queues and exchanges (its own prefix), so runs leave nothing behind. */
export async function removeTopology(bus: AmqpBus, names: Topology, retryDelaysMs: readonly number[]) {
  const channel = await bus.channel();
  const queues = [...gatewayTopology(names).queues, ...workerTopology(names, retryDelaysMs).queues];
  for (const queue of queues) await channel.deleteQueue(queue.name).catch(() => {});
  for (const exchange of gatewayTopology(names).exchanges)
    await channel.deleteExchange(exchange.name).catch(() => {});
}
