// The inference worker process: `npm run worker`. Everything it does is in src/worker/.
import { runProcess } from '../src/ops/process-entry.js';
import { runWorkerUntilSignal } from '../src/worker/run.js';

await runProcess('worker', runWorkerUntilSignal);
