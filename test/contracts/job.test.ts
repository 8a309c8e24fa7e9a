import { describe, expect, it } from 'vitest';
import { jobInputKind, parseJob, parseJobBody } from '../../src/contracts/job.js';

const base = {
  version: 1,
  input: { bucket: 'catalog', key: 'shoes/red.jpg' },
  output: { bucket: 'cutouts', prefix: 'shoes/' },
};

function problems(job: unknown): string[] {
  const parsed = parseJob(job);
  if (parsed.ok) throw new Error('expected the job to be refused');
  return parsed.problems;
}

function accepted(job: unknown) {
  const parsed = parseJob(job);
  if (!parsed.ok) throw new Error(`expected the job to be accepted: ${parsed.problems.join('; ')}`);
  return parsed.job;
}

describe('job body', () => {
  it('accepts each input form and fills the default rendition', () => {
    const forms = [
      [{ bucket: 'catalog', key: 'a.jpg' }, 'object'],
      [{ bucket: 'catalog', keys: ['a.jpg', 'b.jpg'] }, 'list'],
      [{ bucket: 'catalog', prefix: 'shoes/' }, 'prefix'],
      [{ bucket: 'catalog', prefix: '' }, 'prefix'],
      [{ manifest: { bucket: 'catalog', key: 'lists/all.jsonl' } }, 'manifest'],
      [{ manifest: { bucket: 'catalog', key: 'lists/all.txt', format: 'csv' } }, 'manifest'],
    ] as const;
    for (const [input, kind] of forms) {
      const job = accepted({ ...base, input });
      expect(jobInputKind(job.input)).toBe(kind);
      expect(job.renditions).toEqual([{ kind: 'cutout', format: 'png' }]);
    }
  });

  it('accepts every optional field', () => {
    const job = accepted({
      ...base,
      renditions: [
        { kind: 'cutout', format: 'webp', quality: 80 },
        { kind: 'mask' },
        { kind: 'white', square: true },
      ],
      model: 'isnet-general-use',
      priority: 'high',
      metadata: { sku: 'A-1', tags: ['red', 'shoe'], nested: { n: 1, ok: true, none: null } },
      outputKeyTemplate: '{dir}{name}-{rendition}.{ext}',
    });
    expect(job.model).toBe('isnet-general-use');
    expect(job.renditions).toHaveLength(3);
  });

  it('accepts exactly 1000 keys and refuses 1001', () => {
    const keys = Array.from({ length: 1001 }, (_, index) => `k/${index}.jpg`);
    accepted({ ...base, input: { bucket: 'catalog', keys: keys.slice(0, 1000) } });
    expect(problems({ ...base, input: { bucket: 'catalog', keys } })).toEqual([
      'input.keys: Too big: expected array to have <=1000 items',
    ]);
  });

  it('names the problems of the input form the producer was aiming at', () => {
    expect(
      problems({
        ...base,
        input: { bucket: 'Catalog_1', keys: ['a.jpg', '../b.jpg', 'a.jpg', 'c\u0000.jpg'] },
      }),
    ).toEqual([
      'input.bucket: may contain only lowercase letters, digits, dots and hyphens',
      'input.keys[1]: must not contain "." or ".." path segments',
      'input.keys[3]: must not contain control characters',
      'input.keys[2]: repeats keys[0]',
    ]);
    expect(problems({ ...base, input: { bucket: 'catalog', key: '/a.jpg' } })).toEqual([
      'input.key: must not start with "/" (S3 keys are relative to the bucket)',
    ]);
    expect(
      problems({ ...base, input: { manifest: { bucket: 'catalog', key: 'm.csv', format: 'xml' } } })[0],
    ).toMatch(/^input\.manifest\.format: /);
  });

  it('says which input forms exist when the input fits none', () => {
    const message =
      'input: input must be one of {bucket,key}, {bucket,keys}, {bucket,prefix} or {manifest:{bucket,key}}';
    expect(problems({ ...base, input: { bucket: 'catalog' } })).toEqual([message]);
    expect(problems({ ...base, input: { bucket: 'catalog', key: 'a.jpg', prefix: 'p/' } })).toEqual([
      message,
    ]);
    expect(problems({ ...base, input: { bucket: 'catalog', url: 'http://x' } })).toEqual([message]);
  });

  it('refuses unknown fields at every level', () => {
    expect(problems({ ...base, renditons: [{ kind: 'mask' }] })).toEqual([
      '(body): Unrecognized key: "renditons"',
    ]);
    expect(problems({ ...base, tenant: 'acme' })).toEqual(['(body): Unrecognized key: "tenant"']);
    expect(problems({ ...base, output: { bucket: 'cutouts', prefix: '', acl: 'public' } })).toEqual([
      'output: Unrecognized key: "acl"',
    ]);
    expect(problems({ ...base, renditions: [{ kind: 'mask', colour: 'red' }] })[0]).toMatch(
      /^renditions\[0\]: Unrecognized key/,
    );
  });

  it('requires the version, input and output', () => {
    const { version: _, ...noVersion } = base;
    expect(problems(noVersion)).toEqual(['version: Invalid input: expected 1']);
    expect(problems({ ...base, version: 2 })).toEqual(['version: Invalid input: expected 1']);
    expect(problems({ version: 1 })).toEqual([
      'input: Invalid input: expected object, received undefined',
      'output: Invalid input: expected object, received undefined',
    ]);
  });

  it('bounds metadata, priority, model and the output key template', () => {
    expect(problems({ ...base, metadata: { blob: 'x'.repeat(5000) } })).toEqual([
      'metadata: must be at most 4096 bytes as JSON (got 5011)',
    ]);
    expect(problems({ ...base, metadata: ['not', 'an', 'object'] })[0]).toMatch(/^metadata: /);
    // Text PostgreSQL cannot store is refused where it is, not left to fail the gateway's insert.
    expect(problems({ ...base, metadata: { sku: 'A-1', note: { lines: ['ok', 'half \ud83d'] } } })).toEqual([
      'metadata.note.lines[1]: holds an unpaired UTF-16 surrogate, which PostgreSQL cannot store: remove it',
    ]);
    expect(problems({ ...base, metadata: { 'a\u0000b': 1 } })).toEqual([
      'metadata: a key holds a NUL character (\\u0000), which PostgreSQL cannot store: remove it',
    ]);
    expect(parseJob({ ...base, metadata: { emoji: 'ok 😀', escaped: 'literal \\u0000' } }).ok).toBe(true);
    expect(problems({ ...base, priority: 'urgent' })[0]).toMatch(/^priority: /);
    expect(problems({ ...base, model: '../u2net' })).toEqual([
      'model: a model name such as u2net or isnet-general-use',
    ]);
    expect(problems({ ...base, outputKeyTemplate: '{sku}.png' })[0]).toMatch(
      /^outputKeyTemplate: has an unknown placeholder/,
    );
  });

  it('refuses renditions that would write the same output key', () => {
    // Same kind and format: refused once, by the rendition list (renditions.ts).
    const twins = problems({ ...base, renditions: [{ kind: 'cutout' }, { kind: 'cutout', maxSize: 512 }] });
    expect(twins).toHaveLength(1);
    expect(twins[0]).toMatch(/^renditions\[1\]: /);
    accepted({ ...base, renditions: [{ kind: 'cutout' }, { kind: 'cutout', format: 'webp' }] });
    expect(
      problems({
        ...base,
        renditions: [{ kind: 'cutout' }, { kind: 'mask' }],
        outputKeyTemplate: '{key}.png',
      })[0],
    ).toMatch(/^renditions\[1\]: writes the same output key as renditions\[0\] under outputKeyTemplate/);
  });
});

describe('parseJobBody', () => {
  it('reads exact bytes: UTF-8, then JSON, then the schema', () => {
    expect(parseJobBody(Buffer.from(JSON.stringify(base))).ok).toBe(true);
    expect(parseJobBody(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      problems: ['(body): is not valid UTF-8'],
    });
    const notJson = parseJobBody(Buffer.from('{"version":1,'));
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.problems[0]).toMatch(/^\(body\): is not JSON/);
    expect(parseJobBody(Buffer.from('[]'))).toEqual({
      ok: false,
      problems: ['(body): Invalid input: expected object, received array'],
    });
  });

  it('caps the output size the rendition options alone force', () => {
    const square = (format: string, minSide: number) => ({ kind: 'white', format, square: true, minSide });
    // 10000² = 100 000 000 pixels is the per-output cap; a larger least side is refused by itself.
    accepted({ ...base, renditions: [square('jpeg', 10_000)] });
    expect(problems({ ...base, renditions: [square('jpeg', 10_001)] })).toEqual([
      'renditions[0].minSide: Too big: expected number to be <=10000',
    ]);
  });

  it('takes several sizes of one rendition, each a key of its own', () => {
    const sized = { kind: 'cutout', sizes: [2000, 800, 200] };
    expect(accepted({ ...base, renditions: [sized] }).renditions[0]).toMatchObject({
      sizes: [2000, 800, 200],
    });
    accepted({ ...base, renditions: [sized], outputKeyTemplate: '{size}/{key}.{ext}' });
    expect(
      problems({ ...base, renditions: [{ kind: 'mask' }, sized], outputKeyTemplate: '{key}.{ext}' }),
    ).toEqual([
      'renditions[1].sizes: would write every size to one key under outputKeyTemplate: add {size} to it',
    ]);
    expect(problems({ ...base, renditions: [{ ...sized, maxSize: 100 }] })).toEqual([
      'renditions[0].sizes: give sizes or maxSize, not both (each size is a maxSize)',
    ]);
    expect(problems({ ...base, renditions: [{ kind: 'cutout', sizes: [800, 800] }] })).toEqual([
      'renditions[0].sizes: lists a size twice',
    ]);
    expect(problems({ ...base, renditions: [{ kind: 'cutout', sizes: [] }] })[0]).toMatch(
      /^renditions\[0\]\.sizes: /,
    );
    expect(problems({ ...base, renditions: [{ kind: 'cutout', sizes: [8] }] })[0]).toMatch(
      /^renditions\[0\]\.sizes\[0\]: /,
    );
  });

  it("caps what a rendition's sizes force together, per image", () => {
    const square = { kind: 'white', square: true, minSide: 10_000 };
    // Each size bounds its canvas: 10000² + 9000² + 8000² = 245 M pixels, within the 300 M per image.
    accepted({ ...base, renditions: [{ ...square, sizes: [10_000, 9_000, 8_000] }] });
    // A small size forces little: 10000² × 2 + 100² is within the cap too.
    accepted({
      ...base,
      renditions: [
        { ...square, sizes: [10_000, 100] },
        { ...square, format: 'png' },
      ],
    });
    const overCap = [
      { ...square, sizes: [10_000, 9_000] },
      { ...square, format: 'png' },
      { ...square, format: 'webp' },
    ];
    expect(problems({ ...base, renditions: overCap })).toEqual([
      'renditions[2]: with the renditions before it, forces at least 381000000 output pixels per image, more than the 300000000 allowed',
    ]);
  });

  it('validates backgrounds, canvases and positions, naming the field', () => {
    const on = (rendition: Record<string, unknown>) => ({
      ...base,
      renditions: [{ kind: 'background', ...rendition }],
    });
    for (const background of [
      '#F5F5F5',
      '#f5f5f580',
      '#EEE',
      '#fff8',
      'transparent',
      's3://assets/floors/oak.jpg',
    ]) {
      accepted(on({ background }));
    }
    for (const background of [
      '#F5F5F',
      '#F5',
      'red',
      'white',
      '#GGG',
      '#GGGGGG',
      '#F5F5F5F',
      's3://assets',
      'https://x/y.png',
    ]) {
      expect(problems(on({ background }))).toEqual([
        `renditions[0].background: "${background}" is not a background: expected a colour "#RRGGBB", "#RGB", "#RRGGBBAA" or "#RGBA", "transparent", or an image "s3://bucket/key"`,
      ]);
    }
    expect(problems(on({ background: 's3://Bad_Bucket/x.png' }))[0]).toMatch(
      /^renditions\[0\]\.background: /,
    );
    expect(problems(on({ background: '#F5F5F580', format: 'jpeg' }))).toEqual([
      'renditions[0].background: JPEG has no alpha: use an opaque colour "#RRGGBB" or "#RGB", or format png or webp',
    ]);
    accepted(on({ background: '#F5F5F5', format: 'jpeg' }));

    accepted(on({ canvas: { width: 2000, height: 1500, fill: 0.8, position: 'bottom' } }));
    accepted(on({ canvas: { aspect: '4:5', minSide: 1200 } }));
    expect(problems(on({ canvas: { width: 2000 } }))).toEqual([
      'renditions[0].canvas: give both width and height (or aspect)',
    ]);
    expect(problems(on({ canvas: { width: 2000, height: 2000, aspect: '1:1' } }))).toEqual([
      'renditions[0].canvas.aspect: give width and height, or aspect, not both',
    ]);
    expect(problems(on({ canvas: { fill: 0.5 } }))).toEqual([
      'renditions[0].canvas: give width and height, or aspect',
    ]);
    expect(problems(on({ canvas: { width: 20, height: 20, minSide: 100 } }))).toEqual([
      'renditions[0].canvas.minSide: only with aspect (width and height are exact)',
    ]);
    expect(problems(on({ canvas: { aspect: '1:1', position: 'left' } }))).toEqual([
      'renditions[0].canvas.position: Invalid option: expected one of "center"|"bottom"',
    ]);
    expect(problems(on({ canvas: { aspect: '16/9' } }))).toEqual([
      'renditions[0].canvas.aspect: a ratio of whole numbers such as "1:1" or "4:5"',
    ]);
    expect(problems(on({ canvas: { aspect: '1:20' } }))).toEqual([
      'renditions[0].canvas.aspect: must be between 1:10 and 10:1',
    ]);
  });

  it('refuses a canvas over the output cap by itself, and counts canvases in the per-image cap', () => {
    const on = (canvas: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...base,
      renditions: [{ kind: 'background', canvas, ...extra }],
    });
    expect(problems(on({ width: 16_384, height: 16_384 }))).toEqual([
      'renditions[0].canvas: forces 268435456 output pixels, more than the 100000000 allowed per output',
    ]);
    accepted(on({ width: 10_000, height: 10_000 }));
    // maxSize scales the canvas down: 16384 → 10000 on both sides.
    accepted(on({ width: 16_384, height: 16_384 }, { maxSize: 10_000 }));
    // An aspect canvas forces its least side: 10000 × 20000 for "1:2" with minSide 10000.
    expect(problems(on({ aspect: '1:2', minSide: 10_000 }))).toEqual([
      'renditions[0].canvas: forces 200000000 output pixels, more than the 100000000 allowed per output',
    ]);
    expect(problems(on({ width: 10_000, height: 10_000 }, { sizes: [10_000, 9_000, 8_000, 7_500] }))).toEqual(
      [
        'renditions[0]: with the renditions before it, forces at least 301250000 output pixels per image, more than the 300000000 allowed',
      ],
    );
  });

  it('validates mask clean-up on any rendition', () => {
    const with_ = (cleanup: unknown) => ({ ...base, renditions: [{ kind: 'mask', cleanup }] });
    accepted(with_({ threshold: 128, removeIslands: 500, fillHoles: true }));
    expect(problems(with_({}))).toEqual([
      'renditions[0].cleanup: give threshold, removeIslands or fillHoles',
    ]);
    expect(problems(with_({ fillHoles: false }))).toEqual([
      'renditions[0].cleanup: give threshold, removeIslands or fillHoles',
    ]);
    expect(problems(with_({ threshold: 0 }))).toEqual([
      'renditions[0].cleanup.threshold: Too small: expected number to be >=1',
    ]);
    expect(problems(with_({ removeIslands: 2.5 }))[0]).toMatch(/^renditions\[0\]\.cleanup\.removeIslands: /);
    expect(problems(with_({ dilate: 3 }))[0]).toMatch(/^renditions\[0\]\.cleanup: Unrecognized key/);
  });

  it('validates shadows, which only background renditions take', () => {
    const shadowed = (shadow: unknown) => ({ ...base, renditions: [{ kind: 'background', shadow }] });
    expect(accepted(shadowed({})).renditions[0]).toMatchObject({
      shadow: { type: 'drop', offsetX: 0, offsetY: 0, blur: 8, opacity: 0.35, color: '#000000' },
    });
    accepted(shadowed({ type: 'contact', blur: 12, opacity: 0.5, color: '#202020', offsetY: -4 }));
    expect(problems(shadowed({ type: 'long' }))[0]).toMatch(/^renditions\[0\]\.shadow\.type: Invalid option/);
    expect(problems(shadowed({ opacity: 1.5 }))).toEqual([
      'renditions[0].shadow.opacity: Too big: expected number to be <=1',
    ]);
    expect(problems(shadowed({ color: '#00000080' }))).toEqual([
      'renditions[0].shadow.color: an opaque colour "#RRGGBB" or "#RGB"',
    ]);
    expect(problems({ ...base, renditions: [{ kind: 'cutout', shadow: {} }] })[0]).toMatch(
      /^renditions\[0\]: Unrecognized key: "shadow"/,
    );
  });
});
