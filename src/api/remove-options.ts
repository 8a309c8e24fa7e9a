import { describeIssues } from '../contracts/issues.js';
import { type Rendition, type RenditionInput, renditionSchema } from '../contracts/renditions.js';

// POST /v1/remove's options: ONE rendition of the job contract (src/contracts/renditions.ts), from
// query parameters named after its fields, or from a `rendition` form field holding its JSON.

/** The query parameters taken as the rendition's fields of the same name. */
export const renditionQueryFields = [
  'kind',
  'format',
  'quality',
  'maxSize',
  'background',
  'square',
  'fill',
  'minSide',
  'margin',
  'refine',
  'decontaminate',
] as const;
/** The query parameters taken into the rendition's `cleanup`. */
export const cleanupQueryFields = ['threshold', 'removeIslands', 'fillHoles'] as const;

export interface RemoveOptions {
  /** As given (defaults not applied): the job body carries it like a producer's. */
  readonly rendition: RenditionInput;
  /** Defaults applied: what the worker will make. */
  readonly parsed: Rendition;
  readonly model?: string;
}

export type RemoveOptionsResult = { readonly options: RemoveOptions } | { readonly problems: string[] };

/**
 * Reads the options. Values that look like numbers or booleans become those; the rendition schema
 * then judges them, so a wrong value gets the job contract's message. `kind` defaults to
 * `background` when a `background` is given, else `cutout`.
 */
export function readRemoveOptions(
  query: Readonly<Record<string, unknown>>,
  renditionField: string | undefined,
): RemoveOptionsResult {
  const problems: string[] = [];
  const fields: Record<string, unknown> = {};
  const cleanup: Record<string, unknown> = {};
  let model: string | undefined;
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') {
      problems.push(`${name}: give it once`);
    } else if (name === 'model') {
      model = value;
    } else if ((renditionQueryFields as readonly string[]).includes(name)) {
      fields[name] = name === 'background' || name === 'kind' || name === 'format' ? value : scalar(value);
    } else if ((cleanupQueryFields as readonly string[]).includes(name)) {
      cleanup[name] = scalar(value);
    } else {
      problems.push(
        `${name}: unknown option; the query takes model, ${[...renditionQueryFields, ...cleanupQueryFields].join(', ')}`,
      );
    }
  }
  if (Object.keys(cleanup).length > 0) fields.cleanup = cleanup;
  if (fields.kind === undefined) fields.kind = fields.background === undefined ? 'cutout' : 'background';
  let rendition: unknown = fields;
  if (renditionField !== undefined) {
    if (Object.keys(query).some((name) => name !== 'model')) {
      problems.push('rendition: give the rendition as the form field or as query options, not both');
    }
    try {
      rendition = JSON.parse(renditionField);
    } catch (error) {
      problems.push(`rendition: is not JSON (${(error as Error).message})`);
    }
  }
  if (problems.length > 0) return { problems };
  const checked = renditionSchema.safeParse(rendition);
  if (!checked.success) return { problems: describeIssues(checked.error.issues, ['rendition']) };
  if (checked.data.sizes !== undefined) {
    return { problems: ['rendition.sizes: POST /v1/remove answers one image; give maxSize instead'] };
  }
  return {
    options: {
      rendition: rendition as RenditionInput,
      parsed: checked.data,
      ...(model === undefined ? {} : { model }),
    },
  };
}

function scalar(value: string): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}
