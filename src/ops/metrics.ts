import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry per process (not prom-client's global), with process metrics labelled by role. */
export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'clearcut_' });
  return registry;
}
