// The one list of model names every front door, the worker and the CLI accept: the published
// models (models/registry.ts) and their int8 variants. Data only: importing this loads neither
// ONNX Runtime nor sharp, so a gateway can use it.
import { registry } from '../../models/registry.js';
import type { Config } from '../config.js';
import { quantizedVariants } from './model-variants.js';

export interface ModelCatalog {
  /** What a job, trigger rule or command that names no model gets (`CLEARCUT_MODEL`). */
  readonly defaultModel: string;
  /** Every name a job, rule, worker or `--model` may give, published models first. */
  readonly names: readonly string[];
  has(name: string): boolean;
  /** Why `name` is refused, naming the valid ones: the `unknown_model` message everywhere. */
  unknownModelMessage(name: string): string;
}

export interface CatalogSettings {
  readonly defaultModel: string;
}

export const catalogNames: readonly string[] = [
  ...registry.map((spec) => spec.name),
  ...quantizedVariants().map((spec) => spec.name),
];

export function modelCatalog({ defaultModel }: CatalogSettings): ModelCatalog {
  const names = new Set(catalogNames);
  return {
    defaultModel,
    names: catalogNames,
    has: (name) => names.has(name),
    unknownModelMessage: (name) => `model "${name}" is not known; known models: ${catalogNames.join(', ')}`,
  };
}

/** The catalog a process serves, from its parsed configuration. */
export function catalogFor(config: Pick<Config, 'models'>): ModelCatalog {
  return modelCatalog({ defaultModel: config.models.defaultModel });
}
