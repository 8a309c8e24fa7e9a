// The gateway process: `npm run gateway`. Everything it does is in src/gateway/.
import { runGatewayUntilSignal } from '../src/gateway/run.js';
import { runProcess } from '../src/ops/process-entry.js';

await runProcess('gateway', runGatewayUntilSignal);
