import { type Job, parseJob, parseJobBody } from '../contracts/job.js';
import { backgroundImages } from '../contracts/renditions.js';
import type { ModelCatalog } from '../models/catalog.js';
import { allows, type Grant } from '../policy/grants.js';
import { type Rejected, reject } from './decision.js';

// Pure: what an admitted job body turns into, and whether the tenant's grants cover it.

export interface JobPlan {
  readonly job: Job;
  readonly model: string;
  /** Every source object, in input order; item n of the job is sources[n]. Empty while `expands`. */
  readonly sources: readonly { readonly bucket: string; readonly key: string }[];
  /** A prefix or manifest input: the catalog expander lists it into tasks after admission. */
  readonly expands?: boolean;
  /** 0 = released before the tenant's other tasks (job priority high), 1 = normal order. */
  readonly laneRank: 0 | 1;
}

/** A job as a door received it: the producer's raw bytes, or a value the door built (a trigger rule's job). */
export type JobBody = { readonly bytes: Buffer } | { readonly value: unknown };

const maxProblemsShown = 10;
const maxProblemsKept = 50;

/** The job's plan, or why it cannot be admitted (invalid_body, unknown_model). Never throws. */
export function planJob(body: JobBody, catalog: ModelCatalog): { plan: JobPlan } | { decision: Rejected } {
  let parsed: ReturnType<typeof parseJob>;
  try {
    parsed = 'bytes' in body ? parseJobBody(body.bytes) : parseJob(body.value);
  } catch (error) {
    // Nothing a producer writes may crash the consumer: a body the parser chokes on is an invalid body.
    return { decision: reject('invalid_body', `the body could not be read: ${String(error).slice(0, 200)}`) };
  }
  if (!parsed.ok) {
    const shown = parsed.problems.slice(0, maxProblemsShown);
    const more = parsed.problems.length - shown.length;
    return {
      decision: reject('invalid_body', shown.join('; ') + (more > 0 ? `; and ${more} more problems` : ''), {
        problems: parsed.problems.slice(0, maxProblemsKept),
      }),
    };
  }
  const job = parsed.job;
  const model = job.model ?? catalog.defaultModel;
  if (!catalog.has(model)) return { decision: reject('unknown_model', catalog.unknownModelMessage(model)) };
  const input = job.input;
  const laneRank = job.priority === 'high' ? 0 : 1;
  if ('manifest' in input || 'prefix' in input) {
    return { plan: { job, model, sources: [], expands: true, laneRank } };
  }
  const keys = 'keys' in input ? input.keys : [input.key];
  return {
    plan: {
      job,
      model,
      sources: keys.map((key) => ({ bucket: input.bucket, key })),
      expands: false,
      laneRank,
    },
  };
}

/**
 * The first location the grants do not cover (read on every source, on the listed prefix or on the
 * manifest object, and on every background image; write on the output), or undefined. The expander checks each listed key again.
 */
export function forbiddenLocation(plan: JobPlan, grants: readonly Grant[]): string | undefined {
  const input = plan.job.input;
  if ('prefix' in input && !allows(grants, input, 'read')) {
    return `no read grant on s3://${input.bucket}/${input.prefix}`;
  }
  if ('manifest' in input && !allows(grants, input.manifest, 'read')) {
    return `no read grant on the manifest s3://${input.manifest.bucket}/${input.manifest.key}`;
  }
  for (const source of plan.sources) {
    if (!allows(grants, source, 'read')) return `no read grant on s3://${source.bucket}/${source.key}`;
  }
  for (const image of backgroundImages(plan.job.renditions)) {
    if (!allows(grants, image, 'read')) return `no read grant on the background ${image.url}`;
  }
  const output = plan.job.output;
  if (!allows(grants, output, 'write')) return `no write grant on s3://${output.bucket}/${output.prefix}`;
  return undefined;
}
