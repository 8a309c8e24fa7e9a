// How ONNX Runtime spends memory and idle CPU (CLEARCUT_ORT_*), resolved per model. Measured with
// bench:pipeline and bare sessions (docs/worker.md, Throughput and memory): the memory pattern
// pre-plans every activation and raised the peak by 300–400 MiB (U²-Net) and 550–800 MiB (IS-Net)
// for no speed; the arena keeps U²-Net fast and costs IS-Net 200–320 MiB; spinning threads starve
// sharp on shared cores.
import type { ModelProfile } from '../../models/model-spec.js';
import { findVariant } from '../models/model-variants.js';
import { listModels } from '../models/registry.js';

export interface OrtSettings {
  /** `auto`: the model's registry choice (ortMemoryArena). */
  readonly memoryArena: 'auto' | 'on' | 'off';
  readonly memoryPattern: boolean;
  readonly spinning: boolean;
}

/** The defaults of CLEARCUT_ORT_MEMORY_ARENA, _MEMORY_PATTERN and _SPINNING. */
export const defaultOrtSettings: OrtSettings = { memoryArena: 'auto', memoryPattern: false, spinning: false };

export interface SessionSettings {
  readonly memoryArena: boolean;
  readonly memoryPattern: boolean;
  readonly spinning: boolean;
}

export function sessionSettings(
  spec: Pick<ModelProfile, 'name'> & Partial<ModelProfile>,
  settings: OrtSettings,
): SessionSettings {
  const { memoryArena, memoryPattern, spinning } = settings;
  const arena =
    memoryArena === 'auto'
      ? (spec.ortMemoryArena ?? registryEntry(spec.name)?.ortMemoryArena ?? false)
      : memoryArena === 'on';
  return { memoryArena: arena, memoryPattern, spinning };
}

/** The registry entry of `name`, or of its base for an int8 variant. */
function registryEntry(name: string): ModelProfile | undefined {
  const base = findVariant(name)?.base ?? name;
  return listModels().find((spec) => spec.name === base);
}
