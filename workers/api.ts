// The HTTP API process: `npm run api`. Everything it does is in src/api/.
import { runApiUntilSignal } from '../src/api/run.js';
import { runProcess } from '../src/ops/process-entry.js';

await runProcess('api', runApiUntilSignal);
