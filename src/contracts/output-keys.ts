import { PermanentError } from '../errors.js';
import { objectKeyProblem, objectPrefixProblem } from './object-keys.js';
import type { Rendition } from './renditions.js';

// Deterministic output keys: the same job item always writes the same objects, so a retried or
// redelivered task overwrites its own outputs instead of adding new ones.

export const defaultOutputKeyTemplate = '{key}.{rendition}.{ext}';
/** The default for an output of a rendition that lists `sizes`: one key per size. */
export const defaultSizedOutputKeyTemplate = '{key}.{rendition}.{size}.{ext}';
export const outputKeyPlaceholders = ['key', 'dir', 'name', 'rendition', 'size', 'ext'] as const;
/** What {size} renders as for a rendition without `sizes`. */
export const unsizedOutput = 'full';
const placeholder = /\{([^{}]*)\}/g;

export function renditionExtension(rendition: Pick<Rendition, 'format'>): string {
  return rendition.format === 'jpeg' ? 'jpg' : rendition.format;
}

/** The parts of a source key a template can use; the extension is the last ".x" of the last segment. */
export function sourceKeyParts(sourceKey: string): { key: string; dir: string; name: string } {
  const slash = sourceKey.lastIndexOf('/');
  const dir = sourceKey.slice(0, slash + 1);
  const base = sourceKey.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const name = dot > 0 ? base.slice(0, dot) : base;
  return { key: dir + name, dir, name };
}

/** Why a template cannot be used, or undefined. Checked when a job is admitted, not when its items run. */
export function outputKeyTemplateProblem(template: string): string | undefined {
  if (template.length > 256) return 'must be at most 256 characters';
  for (const [, name] of template.matchAll(placeholder)) {
    if (!(outputKeyPlaceholders as readonly string[]).includes(name!)) {
      return `has an unknown placeholder {${name}} (known: ${outputKeyPlaceholders.map((p) => `{${p}}`).join(' ')})`;
    }
  }
  if (/[{}]/.test(template.replace(placeholder, ''))) return 'has an unmatched "{" or "}"';
  if (!/\{(key|name)\}/.test(template))
    return 'must contain {key} or {name}, or every item would write the same key';
  const literalProblem = objectPrefixProblem(template.replace(placeholder, 'x'));
  return literalProblem;
}

/**
 * `<output prefix><rendered template>`; throws PermanentError(invalid_output_key) if the result is
 * not a valid key. `size` is the size of one output of a rendition that lists `sizes`; {rendition}
 * is the rendition's `name` when it has one, else its kind.
 */
export function outputKeyFor(input: {
  readonly prefix: string;
  readonly template?: string | undefined;
  readonly sourceKey: string;
  readonly rendition: Pick<Rendition, 'kind' | 'format'> & { readonly name?: string | undefined };
  readonly size?: number | undefined;
}): string {
  const parts = sourceKeyParts(input.sourceKey);
  const values: Record<string, string> = {
    ...parts,
    rendition: input.rendition.name ?? input.rendition.kind,
    size: input.size === undefined ? unsizedOutput : String(input.size),
    ext: renditionExtension(input.rendition),
  };
  const template =
    input.template ?? (input.size === undefined ? defaultOutputKeyTemplate : defaultSizedOutputKeyTemplate);
  const rendered = template.replace(placeholder, (_, name: string) => values[name] ?? '');
  const key = input.prefix + rendered;
  const problem = objectKeyProblem(key);
  if (problem) {
    throw new PermanentError('invalid_output_key', `output key for ${input.sourceKey} ${problem}`);
  }
  return key;
}
