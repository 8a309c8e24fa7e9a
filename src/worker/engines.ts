import type { Config } from '../config.js';
import { createEngine, type Engine } from '../inference/engine.js';
import { resolveModel } from '../models/registry.js';

export interface EnginePool {
  /** The engine of `model`, loaded on first use and shared by every task after. */
  engineFor(model: string): Promise<Engine>;
  close(): Promise<void>;
}

/** One ONNX Runtime session per model per process; a failed load is not cached, so it can be retried. */
export function createEnginePool(
  config: Pick<Config, 'models' | 'inference'>,
  onLoaded: (model: string, seconds: number) => void,
): EnginePool {
  const engines = new Map<string, Promise<Engine>>();
  return {
    engineFor(model) {
      let engine = engines.get(model);
      if (!engine) {
        const started = performance.now();
        engine = resolveModel(config.models, model, { threads: config.inference.threads })
          .then((resolved) => createEngine(resolved, { threads: config.inference.threads }))
          .then((loaded) => {
            onLoaded(model, (performance.now() - started) / 1000);
            return loaded;
          });
        engine.catch(() => engines.delete(model));
        engines.set(model, engine);
      }
      return engine;
    },
    async close() {
      const loaded = await Promise.allSettled(engines.values());
      engines.clear();
      for (const result of loaded) if (result.status === 'fulfilled') await result.value.close();
    },
  };
}
