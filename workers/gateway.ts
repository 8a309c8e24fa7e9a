// The gateway process: `npm run gateway`. Assembled in src/processes/gateway.ts (the gateway and, beside it, the S3 event consumer).

import { runProcess } from '../src/ops/process-entry.js';
import { runGatewayUntilSignal } from '../src/processes/gateway.js';

await runProcess('gateway', runGatewayUntilSignal);
