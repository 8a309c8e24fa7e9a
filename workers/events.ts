// The S3 event consumer process on its own: `npm run events`. Everything it does is in src/events/.
import { runEventsUntilSignal } from '../src/events/run.js';
import { runProcess } from '../src/ops/process-entry.js';

await runProcess('events', runEventsUntilSignal);
