import { z } from 'zod';
import {
  itemIndexSchema,
  jobIdSchema,
  keyIdSchema,
  modelNameSchema,
  taskIdSchema,
  tenantIdSchema,
} from './identifiers.js';
import { jobPrioritySchema, outputKeyTemplateSchema } from './job.js';
import { objectLocationSchema, prefixLocationSchema } from './locations.js';
import { renditionListSchema } from './renditions.js';

// A task: one image of an admitted job, published by the gateway to `<prefix>.tasks` (DESIGN §3.3).
// It carries everything a worker needs, so a worker never reads the job row to do its work; the
// worker still re-checks the tenant's grants on source and output before touching S3.
// Not strict: during a rolling upgrade an older worker must accept fields a newer gateway adds.

export const taskContractVersion = 1;

export const taskSchema = z.object({
  version: z.literal(taskContractVersion),
  taskId: taskIdSchema,
  tenant: tenantIdSchema,
  jobId: jobIdSchema,
  item: itemIndexSchema,
  keyId: keyIdSchema.optional().describe('Key that signed the job (for audit); absent for S3-event jobs'),
  source: objectLocationSchema.extend({
    eTag: z.string().max(200).optional().describe('ETag the source had when the task was made (S3 events)'),
    size: z.number().int().min(0).optional().describe('Size in bytes when known from a listing or event'),
  }),
  output: prefixLocationSchema,
  outputKeyTemplate: outputKeyTemplateSchema.optional(),
  renditions: renditionListSchema,
  model: modelNameSchema.describe('Resolved model name (the job default applied)'),
  priority: jobPrioritySchema.default('normal'),
  attempt: z
    .number()
    .int()
    .min(1)
    .describe('1 when the gateway publishes; a replay from the dead-letter queue publishes attempt + 1'),
  createdAt: z.iso.datetime().describe('When the gateway admitted the job'),
});

export type Task = z.output<typeof taskSchema>;
export type TaskInput = z.input<typeof taskSchema>;
