import { describe, expect, it } from 'vitest';
import { decodeEventKey, parseEventMessage } from '../../src/events/parse.js';
import { eventJobId } from '../../src/object-events/admission.js';
import {
  isUnderAnyOutput,
  ruleMatches,
  type TriggerRule,
  triggerRuleProblems,
} from '../../src/triggers/trigger-rule.js';
import { awsEvent, minioEvent } from './event-messages.js';

// Pure logic: reading S3 notifications into object events, and matching trigger rules.

const parse = (value: unknown) =>
  parseEventMessage(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

describe('parseEventMessage', () => {
  it('reads a MinIO notification, decoding the URL-query-escaped key', () => {
    const message = minioEvent({
      bucket: 'photos',
      key: 'summer sale/red+shoe ü.jpg',
      eTag: 'abc',
      size: 42,
    });
    expect(message.Records[0]!.s3.object.key).toBe('summer+sale%2Fred%2Bshoe+%C3%BC.jpg');
    expect(parse(message)).toEqual({
      events: [
        {
          index: 0,
          source: 'minio',
          name: 'ObjectCreated:Put',
          created: true,
          bucket: 'photos',
          key: 'summer sale/red+shoe ü.jpg',
          size: 42,
          eTag: 'abc',
          sequencer: expect.any(String),
        },
      ],
      malformed: [],
      test: false,
    });
  });

  it('reads AWS records (eventVersion 2.1+, several per message) and strips quotes from eTags', () => {
    const message = awsEvent([
      { bucket: 'shop', key: 'a.png', eTag: '"quoted"' },
      { bucket: 'shop', key: 'b.png' },
    ]);
    message.Records[1]!.eventVersion = '2.3';
    const { events } = parse(message);
    expect(events.map((e) => [e.source, e.key, e.eTag])).toEqual([
      ['aws', 'a.png', 'quoted'],
      ['aws', 'b.png', 'd41d8cd98f00b204e9800998ecf8427e'],
    ]);
  });

  it('marks non-create events, which need no eTag', () => {
    const message = awsEvent([{ bucket: 'shop', key: 'a.png' }], 'ObjectRemoved:Delete');
    delete (message.Records[0]!.s3.object as { eTag?: string }).eTag;
    expect(parse(message).events[0]).toMatchObject({ name: 'ObjectRemoved:Delete', created: false });
  });

  it('treats the AWS test event as nothing to do', () => {
    expect(parse({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'shop' })).toEqual({
      events: [],
      malformed: [],
      test: true,
    });
  });

  it.each([
    ['not json', '{', /is not UTF-8 JSON/],
    ['no records', { EventName: 's3:ObjectCreated:Put' }, /Records/],
    ['empty records', { Records: [] }, /Records/],
  ])('reports an unreadable message (%s)', (_, body, problem) => {
    const { events, malformed } = parse(body);
    expect(events).toEqual([]);
    expect(malformed).toHaveLength(1);
    expect(malformed[0]!.index).toBeUndefined();
    expect(malformed[0]!.problems.join('; ')).toMatch(problem);
  });

  it('reports each bad record and keeps the good ones', () => {
    const good = awsEvent([{ bucket: 'shop', key: 'ok.png' }]).Records[0]!;
    const record = (patch: (r: typeof good) => unknown) => patch(structuredClone(good));
    const { events, malformed } = parse({
      Records: [
        good,
        record((r) => ({ ...r, eventSource: 'gcs' })),
        record((r) => ({ ...r, eventVersion: '1.0' })),
        record((r) => ({ ...r, s3: { ...r.s3, object: { ...r.s3.object, eTag: undefined } } })),
        record((r) => ({ ...r, s3: { ...r.s3, object: { ...r.s3.object, key: '..%2Fsecret.png' } } })),
        record((r) => ({ ...r, s3: { ...r.s3, object: { ...r.s3.object, key: 'bad%ZZ' } } })),
        record((r) => ({ ...r, s3: { ...r.s3, bucket: { name: 'Not_A_Bucket' } } })),
      ],
    });
    expect(events.map((e) => e.index)).toEqual([0]);
    expect(malformed.map((m) => [m.index, m.problems[0]])).toEqual([
      [1, expect.stringContaining('Records[1].eventSource')],
      [2, expect.stringContaining('eventVersion must be 2.x')],
      [3, 'Records[3].s3.object.eTag: is required on ObjectCreated events'],
      [4, 'Records[4].s3.object.key: must not contain "." or ".." path segments'],
      [5, 'Records[5].s3.object.key: is not valid URL-query escaping'],
      [6, expect.stringContaining('Records[6].s3.bucket.name: may contain only lowercase')],
    ]);
    expect(malformed[3]).toMatchObject({ bucket: 'shop', key: '../secret.png' });
  });

  it('decodes "+" as a space and %2B as a plus', () => {
    expect(decodeEventKey('a+b%2Bc%2Fd')).toBe('a b+c/d');
    expect(decodeEventKey('%')).toBeUndefined();
  });
});

const rule = (overrides: Partial<TriggerRule> = {}): TriggerRule => ({
  id: '1',
  tenantId: 'acme',
  bucket: 'photos',
  prefix: 'uploads/',
  suffixes: ['.jpg', '.png'],
  output: { bucket: 'photos', prefix: 'cutouts/' },
  renditions: [{ kind: 'cutout', format: 'png' }],
  enabled: true,
  createdAt: new Date(),
  ...overrides,
});

describe('trigger rules', () => {
  it('match bucket, prefix and any suffix, case-sensitively', () => {
    expect(ruleMatches(rule(), { bucket: 'photos', key: 'uploads/a/b.jpg' })).toBe(true);
    expect(ruleMatches(rule(), { bucket: 'photos', key: 'uploads/b.png' })).toBe(true);
    expect(ruleMatches(rule(), { bucket: 'photos', key: 'uploads/b.JPG' })).toBe(false);
    expect(ruleMatches(rule(), { bucket: 'photos', key: 'other/b.jpg' })).toBe(false);
    expect(ruleMatches(rule(), { bucket: 'other', key: 'uploads/b.jpg' })).toBe(false);
    expect(ruleMatches(rule({ suffixes: [] }), { bucket: 'photos', key: 'uploads/notes.txt' })).toBe(true);
  });

  it('treat anything under any rule output (of any tenant, even disabled) as our own output', () => {
    const rules = [
      rule(),
      rule({ id: '2', tenantId: 'beta', enabled: false, output: { bucket: 'shared', prefix: '' } }),
    ];
    expect(isUnderAnyOutput(rules, { bucket: 'photos', key: 'cutouts/uploads/a.cutout.png' })).toBe(true);
    expect(isUnderAnyOutput(rules, { bucket: 'shared', key: 'anything.jpg' })).toBe(true);
    expect(isUnderAnyOutput(rules, { bucket: 'photos', key: 'cutoutsx/a.png' })).toBe(false);
    expect(isUnderAnyOutput(rules, { bucket: 'photos', key: 'uploads/a.png' })).toBe(false);
  });

  it('refuse a rule whose output contains its own input', () => {
    const problems = (prefix: string, output: { bucket: string; prefix: string }) =>
      triggerRuleProblems({ tenantId: 'acme', bucket: 'photos', prefix, suffixes: [], output }).problems;
    expect(problems('', { bucket: 'photos', prefix: '' })[0]).toContain('every event would be ignored');
    expect(problems('out/new/', { bucket: 'photos', prefix: 'out/' })[0]).toContain(
      'every event would be ignored',
    );
    expect(problems('', { bucket: 'photos', prefix: 'out/' })).toEqual([]);
    expect(problems('in/', { bucket: 'photos', prefix: 'out/' })).toEqual([]);
  });

  it('derive one stable job id per rule and object version', () => {
    const version = { bucket: 'photos', key: 'a b.jpg', eTag: 'abc' };
    expect(eventJobId('7', version)).toMatch(/^s3-7-[0-9a-f]{40}$/);
    expect(eventJobId('7', version)).toBe(eventJobId('7', { ...version }));
    expect(eventJobId('7', { ...version, eTag: 'abd' })).not.toBe(eventJobId('7', version));
    expect(eventJobId('8', version)).not.toBe(eventJobId('7', version));
  });
});
