import type { ResultEvent } from '../contracts/result-event.js';

/** One line for humans, as `clearcut submit --follow` prints it. */
export function describeResultEvent(event: ResultEvent): string {
  switch (event.kind) {
    case 'accepted':
      return `accepted: job ${event.jobId}, ${event.items ?? 'counting'} items, model ${event.model}`;
    case 'rejected':
      return `rejected: ${event.reason}${event.retryAfterSeconds === undefined ? '' : ` (retry after ${event.retryAfterSeconds}s)`}${event.problems ? `\n  ${event.problems.join('\n  ')}` : ''}`;
    case 'item.succeeded':
      return `item ${event.item} done: s3://${event.source.bucket}/${event.source.key} → ${event.outputs.map((output) => `s3://${output.bucket}/${output.key}`).join(', ')}`;
    case 'item.failed':
      return `item ${event.item} failed: s3://${event.source.bucket}/${event.source.key}: ${event.error.code}: ${event.error.message}`;
    case 'job.completed':
      return `completed: ${event.succeeded} succeeded, ${event.failed} failed of ${event.total}${event.manifest ? `; manifest s3://${event.manifest.bucket}/${event.manifest.key}` : ''}`;
  }
}
