// The engines behind the one-call `removeBackground(input, options)`: one per distinct engine
// setting, loaded on first use and reused by every later call (a model is never loaded per image),
// and closed after a second without calls, so a script that is done exits by itself.
import { resolve } from 'node:path';
import { type ClearcutEngine, createEngine } from './engine.js';
import type { EngineOptions } from './options.js';

const idleMs = 1000;

interface Shared {
  readonly engine: Promise<ClearcutEngine>;
  users: number;
  idle?: NodeJS.Timeout;
}

const engines = new Map<string, Shared>();

export async function withSharedEngine<T>(
  options: EngineOptions,
  use: (engine: ClearcutEngine) => Promise<T>,
): Promise<T> {
  const key = settingKey(options);
  let shared = engines.get(key);
  if (!shared) {
    shared = { engine: createEngine(options), users: 0 };
    engines.set(key, shared);
    // A failed load is not kept: the next call tries again (the weights may have been pulled since).
    const created = shared;
    created.engine.catch(() => forget(key, created));
  }
  const entry = shared;
  entry.users++;
  clearTimeout(entry.idle);
  try {
    return await use(await entry.engine);
  } finally {
    if (--entry.users === 0) {
      entry.idle = setTimeout(() => {
        forget(key, entry);
        entry.engine.then(
          (engine) => engine.close(),
          () => {}, // the caller that started it already got this error
        );
      }, idleMs);
    }
  }
}

function forget(key: string, entry: Shared): void {
  if (engines.get(key) === entry) engines.delete(key);
}

function settingKey({ model, modelDir, allowSynthetic, threads, limits }: EngineOptions): string {
  const file = typeof model === 'object' ? { file: resolve(model.file), family: model.family } : model;
  return JSON.stringify([file, modelDir && resolve(modelDir), allowSynthetic, threads, limits]);
}
