// The models a worker serves (CLEARCUT_MODELS) and nothing else: checked when it starts, loaded
// before it consumes a task, never loaded on a task's path. It never quantizes: an int8 variant is
// built ahead by `clearcut models quantize` (minutes of CPU that would stall the worker's probes).
import type { Config } from '../config.js';
import { PermanentError } from '../errors.js';
import { createEngine, type Engine } from '../inference/engine.js';
import { catalogFor } from '../models/catalog.js';
import { findVariant } from '../models/model-variants.js';
import { findModel, resolveModel } from '../models/registry.js';

export interface EnginePool {
  /** The served names, in configuration order. */
  readonly served: readonly string[];
  /**
   * Throws, naming the model and the fix, unless every served model (an int8 variant: its base)
   * has verified weights, or CLEARCUT_ALLOW_SYNTHETIC_MODELS lets its stand-in serve, and every
   * served int8 variant is built and current. Returns the served models running on a stand-in.
   */
  checkWeights(): Promise<string[]>;
  /** Loads the engine of `model`; one attempt at a time, a failed one is retried by the next call. */
  load(model: string): Promise<Engine>;
  isLoaded(model: string): boolean;
  /**
   * The loaded engine of `model` for a task. PermanentError `unknown_model` for a model not
   * served; a served model not loaded yet is a worker bug, as tasks are consumed only after loading.
   */
  engineFor(model: string): Promise<Engine>;
  close(): Promise<void>;
}

const syntheticHint =
  ' For tests and demos only, CLEARCUT_ALLOW_SYNTHETIC_MODELS=true serves its synthetic stand-in (meaningless masks).';

export function createEnginePool(
  config: Pick<Config, 'models' | 'inference'>,
  onLoaded: (model: string, seconds: number) => void,
): EnginePool {
  const catalog = catalogFor(config);
  const { allowSynthetic } = config.models;
  const threads = config.inference.threads;
  const loading = new Map<string, Promise<Engine>>();
  const loaded = new Map<string, Engine>();

  const options = { allowSynthetic, buildVariant: false };
  const refusal = (model: string, error: unknown, hint = '') =>
    new Error(`Cannot serve model ${model}: ${(error as Error).message}${hint}`, { cause: error });

  return {
    served: catalog.names,
    async checkWeights() {
      const synthetic: string[] = [];
      for (const model of catalog.names) {
        const base = findVariant(model)?.base ?? model;
        const standIn = allowSynthetic || !findModel(base).synthetic ? '' : syntheticHint;
        const resolved = await resolveModel(config.models, base, options).catch((error: unknown) => {
          throw refusal(model, error, standIn);
        });
        if (base !== model)
          await resolveModel(config.models, model, options).catch((error: unknown) => {
            throw refusal(model, error);
          });
        if (resolved.source === 'synthetic') synthetic.push(model);
      }
      return synthetic;
    },
    load(model) {
      if (!catalog.has(model)) return Promise.reject(new Error(catalog.unknownModelMessage(model)));
      let engine = loading.get(model);
      if (!engine) {
        const started = performance.now();
        engine = resolveModel(config.models, model, options)
          .then((resolved) => createEngine(resolved, { threads, ort: config.inference.ort }))
          .then((ready) => {
            loaded.set(model, ready);
            onLoaded(model, (performance.now() - started) / 1000);
            return ready;
          });
        engine.catch(() => loading.delete(model));
        loading.set(model, engine);
      }
      return engine;
    },
    isLoaded: (model) => loaded.has(model),
    async engineFor(model) {
      const engine = loaded.get(model);
      if (engine) return engine;
      if (!catalog.has(model)) throw new PermanentError('unknown_model', catalog.unknownModelMessage(model));
      throw new Error(`model ${model} is served but not loaded yet`);
    },
    async close() {
      const settled = await Promise.allSettled(loading.values());
      loading.clear();
      loaded.clear();
      for (const result of settled) if (result.status === 'fulfilled') await result.value.close();
    },
  };
}
