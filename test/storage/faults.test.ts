import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { createS3BlobStore } from '../../src/storage/s3-blob-store.js';
import {
  endlessBody,
  type Script,
  type ScriptedEndpoint,
  s3Error,
  startScriptedEndpoint,
} from './scripted-endpoint.js';

// How server faults reach the caller: which become PermanentError (fail the item now) and which
// TransientError (retry later), and that oversized or endless downloads are cut off, not read.

const MiB = 1024 * 1024;
let endpoint: ScriptedEndpoint | undefined;
let store: BlobStore | undefined;

afterEach(async () => {
  store?.close();
  await endpoint?.close();
  store = undefined;
  endpoint = undefined;
});

async function storeAnswering(
  script: Script,
  settings?: { timeout?: string; maxAttempts?: string; checksum?: string },
) {
  endpoint = await startScriptedEndpoint(script, settings);
  store = createS3BlobStore(endpoint.config);
  return store;
}

async function failureOf(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const get = (blobs: BlobStore, maxBytes = MiB) => blobs.get('photos', 'a.jpg', { maxBytes });

describe('error mapping', () => {
  it.each([
    [503, 'SlowDown'],
    [500, 'InternalError'],
    [429, 'TooManyRequests'],
  ])('HTTP %i %s is TransientError storage_unavailable', async (status, code) => {
    const blobs = await storeAnswering((_, response) => s3Error(response, status, code));
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'storage_unavailable' });
    expect(error.message).toContain(`${code} (HTTP ${status})`);
  });

  it('retries inside the SDK only as often as CLEARCUT_S3_MAX_ATTEMPTS says', async () => {
    let answered = 0;
    const blobs = await storeAnswering(
      (_, response) => {
        answered += 1;
        if (answered === 1) return s3Error(response, 503, 'SlowDown');
        response.writeHead(200, { etag: '"e1"', 'content-length': '2' }).end('ok');
      },
      { maxAttempts: '2' },
    );
    expect((await get(blobs)).body.toString()).toBe('ok');
    expect(endpoint?.requests).toHaveLength(2);
  });

  it('AccessDenied is PermanentError access_denied naming the permission needed', async () => {
    const blobs = await storeAnswering((_, response) => s3Error(response, 403, 'AccessDenied'));
    const read = await failureOf(() => get(blobs));
    expect(read).toBeInstanceOf(PermanentError);
    expect(read).toMatchObject({ code: 'access_denied' });
    expect(read.message).toContain('s3:GetObject');
    const write = await failureOf(() =>
      blobs.put('photos', 'out.png', Buffer.from('x'), { contentType: 'image/png' }),
    );
    expect(write).toMatchObject({ code: 'access_denied' });
    expect(write.message).toContain('s3:PutObject');
    expect(await failureOf(() => blobs.head('photos', 'a.jpg'))).toMatchObject({ code: 'access_denied' });
  });

  it('other refusals are PermanentError storage_rejected with the server’s words', async () => {
    const blobs = await storeAnswering((_, response) =>
      s3Error(response, 400, 'InvalidArgument', 'That is not how this works'),
    );
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'storage_rejected' });
    expect(error.message).toContain('That is not how this works');
  });

  it('a server that never answers is TransientError after CLEARCUT_S3_TIMEOUT', async () => {
    const blobs = await storeAnswering(() => {}, { timeout: '200ms' });
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'storage_unavailable' });
  });

  it('a download that stalls halfway is TransientError after CLEARCUT_S3_TIMEOUT', async () => {
    const blobs = await storeAnswering(
      (_, response) => {
        response.writeHead(200, { etag: '"e"', 'content-length': '1000' });
        response.write(Buffer.alloc(100));
      },
      { timeout: '200ms' },
    );
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'storage_unavailable' });
  });

  it('a connection reset mid-body is TransientError, not a short object', async () => {
    const blobs = await storeAnswering((_, response) => {
      response.writeHead(200, { etag: '"e"', 'content-length': '1000' });
      response.write(Buffer.alloc(500), () => response.socket?.destroy());
    });
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'storage_unavailable' });
  });
});

describe('download cap', () => {
  it('refuses an endless body declared larger than the cap without reading it', async () => {
    let sent: Promise<number> | undefined;
    const blobs = await storeAnswering((_, response) => {
      sent = endlessBody(response, { 'content-length': String(10 * 1024 * MiB) });
    });
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'too_large' });
    expect(error.message).toContain(`the object is ${10 * 1024 * MiB} bytes; the limit is ${MiB}`);
    // The server saw the client hang up; socket buffers hold a few MiB at most.
    expect(await sent).toBeLessThan(64 * MiB);
  });

  it('cuts off an endless body sent without a length once it passes the cap', async () => {
    let sent: Promise<number> | undefined;
    const blobs = await storeAnswering((_, response) => {
      sent = endlessBody(response, {});
    });
    const error = await failureOf(() => get(blobs));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'too_large' });
    expect(error.message).toContain(`more than ${MiB} bytes arrived`);
    expect(await sent).toBeLessThan(64 * MiB);
  });

  it('closes the connection when a stream from openRead is destroyed unread', async () => {
    let sent: Promise<number> | undefined;
    // A long timeout: only closing the connection, not the idle timer, can end the server's response.
    const blobs = await storeAnswering(
      (_, response) => {
        sent = endlessBody(response, {});
      },
      { timeout: '10m' },
    );
    const stream = await blobs.openRead('photos', 'manifest.jsonl', { maxBytes: 4 * MiB });
    stream.body.destroy();
    expect(await sent).toBeLessThan(64 * MiB);
  });

  it('fails a stream opened with openRead the same way, mid-read', async () => {
    const blobs = await storeAnswering((_, response) => void endlessBody(response, {}));
    const stream = await blobs.openRead('photos', 'manifest.jsonl', { maxBytes: 4 * MiB });
    let received = 0;
    const error = await failureOf(async () => {
      for await (const chunk of stream.body) received += (chunk as Buffer).length;
    });
    expect(error).toMatchObject({ code: 'too_large' });
    expect(received).toBeLessThanOrEqual(4 * MiB);
  });
});

describe('caller abort', () => {
  it('aborts a request waiting for its answer as TransientError aborted', async () => {
    const blobs = await storeAnswering(() => {});
    const controller = new AbortController();
    const pending = failureOf(() =>
      blobs.get('photos', 'a.jpg', { maxBytes: MiB, signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    const error = await pending;
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'aborted' });
  });

  it('aborts a download in progress and closes its connection', async () => {
    let sent: Promise<number> | undefined;
    const blobs = await storeAnswering((_, response) => {
      sent = endlessBody(response, {});
    });
    const controller = new AbortController();
    const stream = await blobs.openRead('photos', 'a.jpg', {
      maxBytes: 1024 * MiB,
      signal: controller.signal,
    });
    const error = await failureOf(async () => {
      for await (const _ of stream.body) controller.abort();
    });
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'aborted' });
    expect(await sent).toBeLessThan(64 * MiB);
  });
});

describe('checksum setting', () => {
  const stored: Script = (_, response) => {
    response.writeHead(200, { etag: '"e"' }).end();
  };

  it('when_required (the default with an endpoint) sends a plain PUT: no checksum, no aws-chunked', async () => {
    const blobs = await storeAnswering(stored);
    await blobs.put('photos', 'out.png', Buffer.alloc(5000), { contentType: 'image/png' });
    const headers = endpoint?.requests[0]?.headers ?? {};
    expect(Object.keys(headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
    expect(headers['content-encoding']).toBeUndefined();
    expect(headers['content-length']).toBe('5000');
  });

  it('when_supported adds a checksum header to the same single PUT', async () => {
    const blobs = await storeAnswering(stored, { checksum: 'when_supported' });
    await blobs.put('photos', 'out.png', Buffer.alloc(5000), { contentType: 'image/png' });
    const headers = endpoint?.requests[0]?.headers ?? {};
    expect(Object.keys(headers).filter((name) => name.startsWith('x-amz-checksum-'))).not.toEqual([]);
    expect(headers['content-encoding']).toBeUndefined();
    expect(headers['content-length']).toBe('5000');
  });
});
