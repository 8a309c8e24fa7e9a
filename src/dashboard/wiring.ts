import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import { createS3BlobStore } from '../storage/s3-blob-store.js';
import { createDeadLetterDesk } from './dead-letter-desk.js';
import type { DashboardDeps, UsageWindows } from './deps.js';
import { createSessionTokens } from './session-tokens.js';

/** The dashboard's parts in `clearcut api`; `close` releases its S3 client. */
export function createDashboardDeps(
  config: Config,
  parts: {
    readonly db: Database;
    readonly masterKey: Buffer;
    readonly now: () => Date;
    readonly usage: (tenantId: string, now: Date) => Promise<UsageWindows>;
    readonly log: Logger;
  },
): { deps: DashboardDeps; close: () => Promise<void> } {
  const store = createS3BlobStore(config.storage);
  const deps: DashboardDeps = {
    ...parts,
    sessions: createSessionTokens({
      masterKey: parts.masterKey,
      issuer: config.api.issuer,
      ttlMs: config.dashboard.sessionTtlMs,
    }),
    manifests: store,
    deadLetters: createDeadLetterDesk({
      brokerUrl: config.broker.url,
      prefix: config.broker.prefix,
      db: parts.db,
    }),
    processes: config.dashboard.processes,
    secureCookies: publicUrl(config).startsWith('https:'),
  };
  return { deps, close: async () => store.close() };
}

/** Where browsers reach the API: CLEARCUT_API_PUBLIC_URL, else http://localhost:<port>. */
export function publicUrl(config: Config, port: number = config.api.port): string {
  return config.dashboard.publicUrl ?? `http://localhost:${port}`;
}
