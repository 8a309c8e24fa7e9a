import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { itemErrorCodes, itemErrorMessageMax } from '../../src/contracts/item-errors.js';
import { itemFailedEventSchema } from '../../src/contracts/result-event.js';
import { PermanentError, TransientError } from '../../src/errors.js';
import { imageRefusalCodes, refuseImage } from '../../src/images/refusal.js';
import { storageErrorCodes, storageFailure } from '../../src/storage/storage-errors.js';
import { classifyFailure } from '../../src/worker/retry-policy.js';

// The item error vocabulary is closed: every code a failing item can carry is listed with its
// decision, the typed errors of storage and images agree with it, and anything else the worker
// meets becomes internal_error.

/** Thrown by `clearcut models` and the quantizer, never while a worker runs an item (it loads its models first). */
const modelToolingCodes = new Set([
  'model_download_failed',
  'model_unreachable',
  'calibration_failed',
  'keep_float_unmatched',
]);

const decisionOfClass = (error: PermanentError | TransientError) =>
  error instanceof TransientError ? 'retry' : 'fail';

describe('item error codes', () => {
  it('cover every storage failure, with the decision its error class implies', () => {
    for (const code of storageErrorCodes) {
      const error = storageFailure(code, { action: 'GET', bucket: 'b', key: 'k' }, 'it failed');
      expect(itemErrorCodes[code], code).toBe(decisionOfClass(error));
    }
  });

  it('cover every image refusal, each a permanent failure', () => {
    for (const code of imageRefusalCodes) {
      expect(itemErrorCodes[code], code).toBe(decisionOfClass(refuseImage(code, 'refused')));
    }
  });

  it('include every code the item path throws by name (worker, inference, images, storage, models)', () => {
    const thrown = new Set<string>();
    for (const folder of ['worker', 'inference', 'images', 'storage', 'models']) {
      const directory = new URL(`../../src/${folder}/`, import.meta.url);
      for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts'))) {
        const text = readFileSync(new URL(file, directory), 'utf8');
        for (const match of text.matchAll(/new (?:Permanent|Transient)Error\(\s*'([a-z0-9_]+)'/g))
          thrown.add(match[1]!);
      }
    }
    expect(thrown.size).toBeGreaterThan(5);
    expect([...thrown].filter((code) => !(code in itemErrorCodes) && !modelToolingCodes.has(code))).toEqual(
      [],
    );
  });

  it('are what the worker records: known codes keep their decision, others become internal_error', () => {
    expect(classifyFailure(new PermanentError('corrupt_image', 'bad bytes'))).toEqual({
      transient: false,
      code: 'corrupt_image',
      message: 'bad bytes',
    });
    expect(classifyFailure(new TransientError('inference_failed', 'session busy'))).toMatchObject({
      transient: true,
      code: 'inference_failed',
    });
    // A typed error whose code items do not have is a bug to look at, not a reason to fail an item.
    expect(classifyFailure(new PermanentError('calibration_failed', 'no images'))).toEqual({
      transient: true,
      code: 'internal_error',
      message: 'calibration_failed: no images',
    });
    expect(classifyFailure(new RangeError('boom'))).toMatchObject({
      transient: true,
      code: 'internal_error',
    });
  });

  it('carry messages the result event and PostgreSQL accept, however long or odd the cause', () => {
    const failure = classifyFailure(new PermanentError('not_found', `GET s3://b/\u0000${'x'.repeat(5000)}`));
    expect(failure.message).toHaveLength(itemErrorMessageMax);
    expect(failure.message).not.toContain('\u0000');
    expect(failure.message).toContain('\\u0000');
    const event = {
      version: 1,
      kind: 'item.failed',
      eventId: 'e1',
      at: '2026-01-01T00:00:00.000Z',
      tenant: 'acme',
      jobId: 'j1',
      taskId: 't1',
      item: 0,
      source: { bucket: 'catalog', key: 'k.jpg' },
      attempt: 1,
      error: { code: failure.code, message: failure.message },
    };
    const parsed = itemFailedEventSchema.safeParse(event);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
