import { randomBytes } from 'node:crypto';
import { type EmbeddedS3, startEmbeddedS3 } from '../../infra/dev/embedded-s3/embedded-s3.js';
import { type Config, type Environment, loadConfig } from '../../src/config.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { createS3BlobStore } from '../../src/storage/s3-blob-store.js';

/**
 * One embedded S3 server per test file, and buckets named after the test:
 *
 *   const s3 = await startTestS3();                          // beforeAll
 *   const bucket = await s3.createBucket('inputs');          // t-inputs-1a2b3c4d
 *   const env = await createTestEnvironment('x', s3.env);    // database + broker + S3 variables
 *   await s3.stop();                                          // afterAll
 */
export interface TestS3 {
  readonly server: EmbeddedS3;
  /** CLEARCUT_S3_* variables pointing at the server; pass as `extra` to createTestEnvironment. */
  readonly env: Environment;
  readonly config: Config['storage'];
  /** A store on the server, closed by stop(). */
  readonly store: BlobStore;
  /** Creates a bucket with a fresh name built from `label` and returns the name. */
  createBucket(label: string): Promise<string>;
  /** Closes the store and stops the server (its files are deleted). */
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const server = await startEmbeddedS3();
  const config = loadConfig(server.env).storage;
  const store = createS3BlobStore(config);
  return {
    server,
    env: server.env,
    config,
    store,
    async createBucket(label) {
      const slug = label
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40);
      const bucket = `t-${slug || 'bucket'}-${randomBytes(4).toString('hex')}`;
      await store.createBucket(bucket);
      return bucket;
    },
    async stop() {
      store.close();
      await server.close();
    },
  };
}
