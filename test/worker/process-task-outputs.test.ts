import { describe, expect, it } from 'vitest';
import { itemSucceededEventSchema } from '../../src/contracts/result-event.js';
import { type TaskInput, taskSchema } from '../../src/contracts/task.js';
import type { Engine } from '../../src/inference/engine.js';
import type { ResolvedModel } from '../../src/models/resolved-model.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { processTask, type TaskProcessorDeps } from '../../src/worker/process-task.js';
import { encode, pixelsOf, rectangleScene } from '../support/images.js';

// What a task's result event says about each output: the rendition's name and the size asked for,
// with storage and the model replaced by fakes (the engine returns the scene's exact mask).

const scene = rectangleScene({ width: 64, height: 32, subject: { left: 16, top: 8, width: 32, height: 16 } });

const taskInput: TaskInput = {
  version: 1,
  taskId: 'task-1',
  tenant: 'acme',
  jobId: 'job-1',
  item: 0,
  source: { bucket: 'catalog', key: 'shoes/red.jpg' },
  output: { bucket: 'cutouts', prefix: 'out/' },
  renditions: [{ kind: 'background', background: '#EEE', name: 'grey', sizes: [32, 16] }, { kind: 'mask' }],
  model: 'u2net',
  attempt: 1,
  createdAt: new Date().toISOString(),
};

describe('processTask outputs', () => {
  it('carry the rendition name and the size of each output; the event schema takes them', async () => {
    const source = await encode(scene.rgb, scene.width, scene.height, 3, 'png');
    const written = new Map<string, Buffer>();
    const store = {
      get: async () => ({
        body: source,
        eTag: 'etag',
        size: source.length,
        contentType: 'image/png',
        metadata: {},
      }),
      put: async (_bucket: string, key: string, body: Buffer) => {
        written.set(key, body);
        return { eTag: 'x' };
      },
    } as unknown as BlobStore;
    const engine: Engine = {
      model: { source: 'registry', spec: { name: 'u2net' }, sha256: 'abc' } as unknown as ResolvedModel,
      threads: 1,
      predictMask: async () => scene.mask,
      close: async () => {},
    };
    const deps: TaskProcessorDeps = {
      store,
      grantsOf: async () => [
        { bucket: 'catalog', prefix: '', access: 'read' },
        { bucket: 'cutouts', prefix: '', access: 'write' },
      ],
      engineFor: async () => engine,
      limits: {
        maxInputBytes: 10_000_000,
        maxInputPixels: 100_000_000,
        decodeTimeoutMs: 10_000,
        maxOutputPixels: 100_000_000,
        maxTaskOutputPixels: 300_000_000,
      },
    };
    const { outputs } = await processTask(taskSchema.parse(taskInput), deps, { inferred: false });
    const described = outputs.map(({ bytes: _, ...rest }) => rest);
    expect(described).toEqual([
      {
        rendition: 'background',
        name: 'grey',
        size: 32,
        bucket: 'cutouts',
        key: 'out/shoes/red.grey.32.png',
        contentType: 'image/png',
        width: 32,
        height: 16,
      },
      {
        rendition: 'background',
        name: 'grey',
        size: 16,
        bucket: 'cutouts',
        key: 'out/shoes/red.grey.16.png',
        contentType: 'image/png',
        width: 16,
        height: 8,
      },
      {
        rendition: 'mask',
        bucket: 'cutouts',
        key: 'out/shoes/red.mask.png',
        contentType: 'image/png',
        width: 64,
        height: 32,
      },
    ]);
    // The mask is the scene's exact mask; the grey background is #EEEEEE in the corners.
    expect((await pixelsOf(written.get('out/shoes/red.mask.png')!, 1)).data).toEqual(Buffer.from(scene.mask));
    const grey = await pixelsOf(written.get('out/shoes/red.grey.32.png')!);
    expect([...grey.data.subarray(0, 3)]).toEqual([0xee, 0xee, 0xee]);
    const event = itemSucceededEventSchema.parse({
      version: 1,
      eventId: 'e',
      at: new Date().toISOString(),
      kind: 'item.succeeded',
      tenant: 'acme',
      jobId: 'job-1',
      taskId: 'task-1',
      item: 0,
      source: taskInput.source,
      outputs,
      attempt: 1,
    });
    expect(event.outputs.map(({ name, size }) => [name, size])).toEqual([
      ['grey', 32],
      ['grey', 16],
      [undefined, undefined],
    ]);
  });
});
