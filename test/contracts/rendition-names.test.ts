import { describe, expect, it } from 'vitest';
import { parseColour } from '../../src/contracts/backgrounds.js';
import { parseJob } from '../../src/contracts/job.js';
import { outputKeyFor } from '../../src/contracts/output-keys.js';
import { type RenditionInput, renditionListSchema } from '../../src/contracts/renditions.js';
import { itemSucceededEventSchema } from '../../src/contracts/result-event.js';

const base = {
  version: 1,
  input: { bucket: 'catalog', key: 'shoes/red.jpg' },
  output: { bucket: 'cutouts', prefix: 'shoes/' },
};

function problems(renditions: RenditionInput[], extra: Record<string, unknown> = {}): string[] {
  const parsed = parseJob({ ...base, renditions, ...extra });
  return parsed.ok ? [] : parsed.problems;
}

describe('rendition names', () => {
  it('let two backgrounds in one format write their own keys; without names they are refused', () => {
    const white = { kind: 'background', format: 'jpeg', background: '#FFFFFF' } as const;
    const grey = { kind: 'background', format: 'jpeg', background: '#F5F5F5' } as const;
    expect(problems([white, grey])).toEqual([
      'renditions[1]: two "background" renditions in jpeg would write the same output; give each a `name` (such as "white" and "grey") or its own format',
    ]);
    const renditions = renditionListSchema.parse([
      { ...white, name: 'white' },
      { ...grey, name: 'grey', sizes: [800, 200] },
    ]);
    const keys = renditions.flatMap((rendition) =>
      (rendition.sizes ?? [undefined]).map((size) =>
        outputKeyFor({ prefix: 'out/', sourceKey: 'shoes/red.jpg', rendition, size }),
      ),
    );
    expect(keys).toEqual([
      'out/shoes/red.white.jpg',
      'out/shoes/red.grey.800.jpg',
      'out/shoes/red.grey.200.jpg',
    ]);
    // Without a name the default keys are as before.
    expect(
      outputKeyFor({ prefix: '', sourceKey: 'a.jpg', rendition: renditionListSchema.parse([white])[0]! }),
    ).toBe('a.background.jpg');
    expect(
      outputKeyFor({
        prefix: '',
        template: '{name}-{rendition}.{ext}',
        sourceKey: 'a.jpg',
        rendition: { kind: 'white', format: 'jpeg', name: 'main' },
      }),
    ).toBe('a-main.jpg');
  });

  it('refuse true collisions: a name used twice, a name equal to another kind in its format', () => {
    expect(
      problems([
        { kind: 'cutout', name: 'a' },
        { kind: 'mask', name: 'a' },
      ]),
    ).toEqual(['renditions[1].name: renditions[0] is already named "a": give each rendition its own name']);
    expect(problems([{ kind: 'cutout' }, { kind: 'background', name: 'cutout' }])).toEqual([
      'renditions[1]: would write the same output as renditions[0] ("cutout" in png); give each a `name` of its own',
    ]);
    // The same name in two formats writes two keys (its own extension each).
    expect(
      problems([
        { kind: 'cutout', name: 'x' },
        { kind: 'cutout', name: 'y' },
      ]),
    ).toEqual([]);
    // A template without {rendition} makes named renditions of one kind and format collide.
    expect(
      problems(
        [
          { kind: 'white', name: 'a' },
          { kind: 'white', name: 'b' },
        ],
        { outputKeyTemplate: '{key}.{ext}' },
      ),
    ).toEqual([
      'renditions[1]: writes the same output key as renditions[0] under outputKeyTemplate: add {rendition} and {ext} to it',
    ]);
  });

  it('accept only a short safe charset', () => {
    for (const name of ['grey', 'f5-jpeg', 'a_1', '0', 'x'.repeat(32)]) {
      expect(problems([{ kind: 'cutout', name }])).toEqual([]);
    }
    for (const name of ['', 'Grey', 'a.b', 'a/b', '-a', '_a', 'x'.repeat(33), 'a b', 'é']) {
      expect(problems([{ kind: 'cutout', name }])).toEqual([
        'renditions[0].name: a name of 1–32 lowercase letters, digits, "-" or "_", such as "grey"',
      ]);
    }
  });
});

describe('short colours', () => {
  it('read #RGB and #RGBA as CSS does: each digit doubled', () => {
    expect(parseColour('#F5A')).toEqual({ r: 0xff, g: 0x55, b: 0xaa, alpha: 255 });
    expect(parseColour('#f5a8')).toEqual({ r: 0xff, g: 0x55, b: 0xaa, alpha: 0x88 });
    expect(parseColour('#F5F5F5')).toEqual({ r: 0xf5, g: 0xf5, b: 0xf5, alpha: 255 });
    for (const text of ['#F5', '#F5F5F', '#F5F5F5F', 'white', 'red', '#GGG'])
      expect(parseColour(text)).toBeUndefined();
  });

  it('are opaque or not for JPEG and shadows like the long forms', () => {
    expect(problems([{ kind: 'background', format: 'jpeg', background: '#EEE' }])).toEqual([]);
    expect(problems([{ kind: 'background', format: 'jpeg', background: '#EEE8' }])).toEqual([
      'renditions[0].background: JPEG has no alpha: use an opaque colour "#RRGGBB" or "#RGB", or format png or webp',
    ]);
    expect(problems([{ kind: 'background', shadow: { color: '#333' } }])).toEqual([]);
    expect(problems([{ kind: 'background', shadow: { color: '#3338' } }])).toEqual([
      'renditions[0].shadow.color: an opaque colour "#RRGGBB" or "#RGB"',
    ]);
  });
});

describe('edit option sets', () => {
  it('allow at most two distinct sets of cleanup, refine and decontaminate per job, besides none', () => {
    expect(
      problems([
        { kind: 'cutout', refine: 'edges', decontaminate: true },
        // A mask takes no decontaminate: its set is refine alone, like the white's.
        { kind: 'mask', refine: 'edges' },
        { kind: 'white', refine: 'edges' },
        // Without options: the model's mask as is, always made.
        { kind: 'crop' },
      ]),
    ).toEqual([]);
    expect(
      problems([
        { kind: 'cutout' },
        { kind: 'white', refine: 'edges' },
        { kind: 'mask', cleanup: { fillHoles: true } },
        { kind: 'crop', refine: 'edges', decontaminate: true },
      ]),
    ).toEqual([
      'renditions[3]: its cleanup, refine and decontaminate options differ from those of renditions[1] and [2]; at most 2 distinct sets of them per job (besides none), as each builds a full-resolution cutout: give renditions the same options, or split the job',
    ]);
    expect(
      problems([
        { kind: 'mask', cleanup: { threshold: 128 } },
        { kind: 'cutout', cleanup: { threshold: 100 } },
        { kind: 'white', cleanup: { fillHoles: true } },
      ]),
    ).toHaveLength(1);
  });
});

describe('result events', () => {
  const event = {
    version: 1,
    eventId: 'e1',
    at: '2026-12-03T10:00:00.000Z',
    kind: 'item.succeeded',
    tenant: 'acme',
    jobId: 'job-1',
    taskId: 'task-1',
    item: 0,
    source: { bucket: 'catalog', key: 'shoes/red.jpg' },
    attempt: 1,
  };
  const output = {
    rendition: 'background',
    bucket: 'cutouts',
    key: 'shoes/red.grey.800.jpg',
    contentType: 'image/jpeg',
    bytes: 1000,
    width: 800,
    height: 600,
  };

  it('name each output’s size and name when there are ones, and still validate without them', () => {
    const parsed = itemSucceededEventSchema.parse({
      ...event,
      outputs: [{ ...output, name: 'grey', size: 800 }],
    });
    expect(parsed.outputs[0]).toMatchObject({ name: 'grey', size: 800 });
    expect(itemSucceededEventSchema.safeParse({ ...event, outputs: [output] }).success).toBe(true);
    expect(itemSucceededEventSchema.safeParse({ ...event, outputs: [{ ...output, size: 0 }] }).success).toBe(
      false,
    );
  });
});
