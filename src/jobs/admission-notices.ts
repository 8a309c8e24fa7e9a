import type { Database } from '../db/database.js';

// A process that admits jobs but runs no dispatcher (clearcut api) announces its admissions, so
// the gateways' dispatchers and expanders take them at once instead of at their next idle round
// (CLEARCUT_DISPATCH_INTERVAL). A notice lost on the way costs only that wait.

export const admissionsChannel = 'jobs_admitted';

/** After an admission that accepted a job has committed. */
export function announceAdmissions(db: Pick<Database, 'notify'>): Promise<void> {
  return db.notify(admissionsChannel, '');
}
