import type { Database } from '../db/database.js';
import { listenLasting } from '../db/lasting-listen.js';
import { isKeyId } from '../signing/keys.js';
import { keyChangesChannel, loadSigningKey } from './key-rows.js';
import { matchesStoredCheckValue, requireMatchingMasterKey } from './master-key-check.js';
import { SecretBoxError } from './secret-box.js';
import type { SigningKey } from './signing-key.js';

export type { KeyState, SigningKey } from './signing-key.js';
export { keyState } from './signing-key.js';

export interface KeyStore {
  /** The key, from cache when fresh; undefined when no such key exists. Throws SecretBoxError on a wrong master key. */
  get(keyId: string): Promise<SigningKey | undefined>;
  /**
   * False while a stored secret failed to open under the master key (an altered row), or once the
   * stored secrets were resealed under another key (`clearcut keys reseal` while this process
   * runs): an operator's problem, for /readyz. One single-row query.
   */
  secretsReadable(): Promise<boolean>;
  close(): Promise<void>;
}

export interface KeyStoreOptions {
  /** Safety net behind NOTIFY (e.g. a LISTEN connection lost without notice): entries are re-read after this. */
  readonly cacheTtlMs: number;
  /** Bound on cached entries, unknown ids included, so a flood of made-up key ids cannot grow memory. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * Refuses a master key that does not match the stored check value (MasterKeyMismatchError).
 * Keys cached per process, dropped the moment any process announces a change on the
 * `key_changes` channel (create, rotate, revoke), so a revocation reaches every gateway within
 * the NOTIFY latency. Unknown ids are cached too (a new key is announced, so that is safe).
 */
export async function createKeyStore(
  db: Database,
  masterKey: Buffer,
  { cacheTtlMs, maxEntries = 10_000, now = Date.now }: KeyStoreOptions,
): Promise<KeyStore> {
  await requireMatchingMasterKey(db, masterKey);
  // Caching the promise makes concurrent gets of a cold key share one query.
  const cache = new Map<string, { key: Promise<SigningKey | undefined>; expiresAt: number }>();
  let closing: Promise<void> | undefined;
  const unreadable = new Set<string>();
  let listening = false;
  // Listen before the first read: a change between read and subscribe would otherwise go unheard.
  const changes = await listenLasting(db, keyChangesChannel, (keyId) => cache.delete(keyId), {
    onSubscribed: () => {
      listening = true;
    },
    onLost: () => {
      // Changes may have gone unheard: forget everything, cache nothing until listening again.
      listening = false;
      cache.clear();
    },
  });

  return {
    get(keyId) {
      if (!isKeyId(keyId)) return Promise.resolve(undefined);
      const cached = cache.get(keyId);
      if (cached !== undefined && cached.expiresAt > now()) return cached.key;
      cache.delete(keyId);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      const key = loadSigningKey(db, masterKey, keyId).then(
        (loaded) => {
          unreadable.delete(keyId);
          return loaded;
        },
        (error: unknown) => {
          if (error instanceof SecretBoxError) unreadable.add(keyId);
          throw error;
        },
      );
      if (!listening) return key;
      const entry = { key, expiresAt: now() + cacheTtlMs };
      cache.set(keyId, entry);
      // A failed read is not an answer: forget it (only if a NOTIFY has not replaced it meanwhile).
      key.catch(() => {
        if (cache.get(keyId) === entry) cache.delete(keyId);
      });
      return key;
    },
    secretsReadable: async () => unreadable.size === 0 && (await matchesStoredCheckValue(db, masterKey)),
    close() {
      closing ??= (async () => {
        cache.clear();
        await changes.stop();
      })();
      return closing;
    },
  };
}
