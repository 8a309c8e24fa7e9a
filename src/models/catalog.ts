// The one list of model names every front door, the worker and the CLI accept: the published
// models (models/registry.ts) and their int8 variants, narrowed to the ones this stack serves
// (CLEARCUT_MODELS). Data only: importing this loads neither ONNX Runtime nor sharp, so a gateway
// (and the configuration, which checks CLEARCUT_MODELS against it) can use it.
import { registry } from '../../models/registry.js';
import { quantizedVariants } from './model-variants.js';

export interface ModelCatalog {
  /** What a job, trigger rule or command that names none gets (`CLEARCUT_MODEL`). */
  readonly defaultModel: string;
  /** Every name a job, rule, worker or `--model` may give here, published models first. */
  readonly names: readonly string[];
  has(name: string): boolean;
  /** Why `name` is refused, naming the valid ones: the `unknown_model` message everywhere. */
  unknownModelMessage(name: string): string;
}

export interface CatalogSettings {
  readonly defaultModel: string;
  /** The names served (CLEARCUT_MODELS); absent means every catalog name (local commands). */
  readonly served?: readonly string[];
}

/** Every model ClearCut knows: the published ones, then their int8 variants. */
export const catalogNames: readonly string[] = [
  ...registry.map((spec) => spec.name),
  ...quantizedVariants().map((spec) => spec.name),
];

export function modelCatalog({ defaultModel, served }: CatalogSettings): ModelCatalog {
  const names = catalogNames.filter((name) => served === undefined || served.includes(name));
  const known = new Set(names);
  return {
    defaultModel,
    names,
    has: (name) => known.has(name),
    unknownModelMessage: (name) =>
      catalogNames.includes(name)
        ? `model "${name}" is not served here; served models: ${names.join(', ')}`
        : `model "${name}" is not known; served models: ${names.join(', ')}`,
  };
}

/** The catalog a process serves, from its parsed configuration (config.models). */
export function catalogFor(config: {
  readonly models: { readonly defaultModel: string; readonly served: readonly string[] };
}): ModelCatalog {
  return modelCatalog({ defaultModel: config.models.defaultModel, served: config.models.served });
}
