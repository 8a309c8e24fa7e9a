import { section, variable } from './define.js';
import { duration } from './parsers.js';

const hourMs = 3_600_000;

export const retentionSection = section(
  {
    CLEARCUT_RETENTION_AUDIT: variable({
      doc: 'How long audit rows (gateway decisions, admin changes) are kept; the gateway deletes older ones in small batches.',
      expected: 'a duration of at least 1h, such as 90d',
      default: '90d',
      schema: duration(hourMs),
    }),
    CLEARCUT_RETENTION_PROCESSED_EVENTS: variable({
      doc: 'How long the record of each S3 object version turned into work is kept; a notification repeated after this makes a new job.',
      expected: 'a duration of at least 1h, such as 30d',
      default: '30d',
      schema: duration(hourMs),
    }),
    CLEARCUT_RETENTION_INPUT_PROBLEMS: variable({
      doc: "How long a catalog job's skipped input entries stay in the database (for `clearcut results`) after the job is finalised; its results manifest keeps them for good.",
      expected: 'a duration of at least 1h, such as 30d',
      default: '30d',
      schema: duration(hourMs),
    }),
    CLEARCUT_RETENTION_WEBHOOK_DELIVERIES: variable({
      doc: 'How long a finished webhook delivery (succeeded, or failed for good) and its attempts stay in the delivery log (`clearcut webhooks deliveries`).',
      expected: 'a duration of at least 1h, such as 30d',
      default: '30d',
      schema: duration(hourMs),
    }),
  },
  (v) => ({
    auditMs: v.CLEARCUT_RETENTION_AUDIT,
    processedEventsMs: v.CLEARCUT_RETENTION_PROCESSED_EVENTS,
    inputProblemsMs: v.CLEARCUT_RETENTION_INPUT_PROBLEMS,
    webhookDeliveriesMs: v.CLEARCUT_RETENTION_WEBHOOK_DELIVERIES,
  }),
);
