import { runApiUntilSignal } from '../../api/run.js';
import { serviceCommand } from '../service-command.js';

const help = `Usage: clearcut api

Runs the HTTP API on CLEARCUT_API_PORT: POST /oauth/token, POST /v1/jobs, GET /v1/jobs,
GET /v1/jobs/{id}, GET /v1/jobs/{id}/items, POST /v1/remove (with CLEARCUT_API_STAGING_BUCKET),
POST /v1/events/s3, GET /v1/usage, /v1/webhooks, GET /openapi.json, and /healthz, /readyz, /metrics;
the browser dashboard under /dashboard (sign in with \`clearcut dashboard link\`, docs/dashboard.md).
Requests are signed with the cc-* headers or carry a bearer token (docs/api.md). Jobs go through
the same admission as the gateway's; the gateways' dispatchers release their tasks. SIGTERM or
Ctrl-C finishes the requests in progress and exits 0. Needs CLEARCUT_MASTER_KEY and a migrated
database (\`clearcut migrate\`). Logs are JSON on stdout.`;

export const run = serviceCommand('api', help, runApiUntilSignal);
