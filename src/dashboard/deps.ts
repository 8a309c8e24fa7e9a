import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { DeadLetterDesk } from './dead-letter-desk.js';
import type { ProcessProbe } from './process-probes.js';
import type { SessionTokens } from './session-tokens.js';

/** A tenant's quota windows as GET /v1/usage computes them (src/api/rate-limit-headers.ts). */
export interface UsageWindows {
  readonly jobs: { readonly burst: number; readonly perMinute: number; readonly tokens: number } | null;
  readonly images: readonly {
    readonly window: 'hour' | 'day' | 'month';
    readonly limit: number;
    readonly used: number;
    readonly remaining: number;
    readonly resetsAt: Date;
  }[];
  readonly unlimited: readonly { readonly window: 'hour' | 'day' | 'month'; readonly used: number }[];
}

/** What the dashboard needs from the process that serves it (`clearcut api`, src/api/service.ts). */
export interface DashboardDeps {
  readonly db: Database;
  /** The database clock, as the API uses. */
  readonly now: () => Date;
  readonly sessions: SessionTokens;
  /** GET /v1/usage's computation, handed in: the dashboard shows the same numbers. */
  readonly usage: (tenantId: string, now: Date) => Promise<UsageWindows>;
  /** Opens results manifests (JSON lines) in S3 as streams, so a download never sits in memory. */
  readonly manifests: Pick<BlobStore, 'openRead'>;
  readonly deadLetters: DeadLetterDesk;
  readonly processes: readonly ProcessProbe[];
  /** Cookies carry Secure when browsers reach the API over HTTPS (CLEARCUT_API_PUBLIC_URL). */
  readonly secureCookies: boolean;
  readonly log: Logger;
}
