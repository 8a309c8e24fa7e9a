import { runWorkerUntilSignal } from '../../worker/run.js';
import { serviceCommand } from '../service-command.js';

const help = `Usage: clearcut worker

Runs an inference worker: consumes tasks from <prefix>.tasks.priority.inbox and <prefix>.tasks.inbox
(CLEARCUT_WORKER_PREFETCH each), re-checks grants, downloads the source, removes the background
once, writes every rendition to its output key, records the result, then acks. Transient
failures retry through one retry queue per CLEARCUT_RETRY_DELAYS entry; after
CLEARCUT_MAX_ATTEMPTS they go to <prefix>.tasks.dead (see \`clearcut dlq\`).
Serves the models of CLEARCUT_MODELS and no others, loaded before it takes a task; refuses to
start without their weights (\`clearcut models pull|import\`), a served -int8 variant not built
(\`clearcut models quantize\`), or a synthetic stand-in unless CLEARCUT_ALLOW_SYNTHETIC_MODELS=true.
Serves /healthz, /readyz and /metrics on CLEARCUT_HTTP_PORT. SIGTERM or Ctrl-C drains (waits up
to CLEARCUT_WORKER_DRAIN_TIMEOUT) and exits 0; broker and database restarts are ridden out.
Logs are JSON on stdout. See docs/worker.md.`;

export const run = serviceCommand('worker', help, runWorkerUntilSignal);
