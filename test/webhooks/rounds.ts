import { createWebhookDelivery, type DeliveryDeps } from '../../src/webhooks/delivery.js';

/** One claim of due deliveries, waiting for their attempts to be recorded; returns how many. */
export async function deliveryRound(deps: DeliveryDeps): Promise<number> {
  const delivery = createWebhookDelivery(deps);
  const started = await delivery.step();
  await delivery.drain();
  return started;
}
