import { runGatewayUntilSignal } from '../../processes/gateway.js';
import { serviceCommand } from '../service-command.js';

const help = `Usage: clearcut gateway

Runs the gateway: consumes signed jobs from <prefix>.jobs.inbox, verifies and admits them, releases
their tasks fairly to <prefix>.tasks and publishes result events to <prefix>.results. The S3
event consumer runs in the same process unless CLEARCUT_GATEWAY_EVENTS=false (docs/events.md).
Serves /healthz, /readyz and /metrics on CLEARCUT_GATEWAY_HTTP_PORT. SIGTERM or Ctrl-C drains
and exits 0; broker and database restarts are ridden out. Needs CLEARCUT_MASTER_KEY and a migrated
database (\`clearcut migrate\`). Logs are JSON on stdout. See docs/gateway.md.`;

export const run = serviceCommand('gateway', help, runGatewayUntilSignal);
