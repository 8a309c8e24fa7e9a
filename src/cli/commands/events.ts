import { runEventsUntilSignal } from '../../events/run.js';
import { serviceCommand } from '../service-command.js';

const help = `Usage: clearcut events

Runs the S3 event consumer alone: reads MinIO- or AWS-shaped S3 event notifications from
<prefix>.events, matches ObjectCreated events against the trigger rules (\`clearcut triggers\`),
admits each match as a job under the tenant's grants and quotas, releases its tasks to
<prefix>.tasks and publishes result events to <prefix>.results. The gateway runs the same
consumer unless CLEARCUT_GATEWAY_EVENTS=false; run this when you want it apart. Serves
/healthz, /readyz and /metrics on CLEARCUT_EVENTS_HTTP_PORT (default 9466). SIGTERM or Ctrl-C
drains and exits 0; broker and database restarts are ridden out. Needs a migrated database
(\`clearcut migrate\`). Logs are JSON on stdout. See docs/events.md.`;

export const run = serviceCommand('events', help, runEventsUntilSignal);
