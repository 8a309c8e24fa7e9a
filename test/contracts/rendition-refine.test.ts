// The rendition options of edge refinement and colour decontamination: accepted on the kinds they
// apply to, off unless asked, refused with the field named otherwise.
import { describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';

function issues(renditions: unknown): string[] {
  const parsed = renditionListSchema.safeParse(renditions);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('refine and decontaminate', () => {
  it('are off unless asked', () => {
    const [cutout] = renditionListSchema.parse([{ kind: 'cutout' }]);
    expect(cutout).not.toHaveProperty('refine');
    expect(cutout).not.toHaveProperty('decontaminate');
  });

  it('refine "edges" is taken by every kind, decontaminate by every kind with colours', () => {
    const parsed = renditionListSchema.parse([
      { kind: 'cutout', refine: 'edges', decontaminate: true },
      { kind: 'mask', refine: 'edges' },
      { kind: 'white', refine: 'edges', decontaminate: true },
      { kind: 'crop', decontaminate: false },
      { kind: 'background', background: '#F5F5F5', refine: 'edges', decontaminate: true },
    ]);
    expect(parsed.map((r) => [r.refine, 'decontaminate' in r ? r.decontaminate : 'n/a'])).toEqual([
      ['edges', true],
      ['edges', 'n/a'],
      ['edges', true],
      [undefined, false],
      ['edges', true],
    ]);
  });

  it('refuses an unknown refinement, naming the field and the allowed value', () => {
    expect(issues([{ kind: 'cutout', refine: 'hair' }])).toEqual([
      '0.refine: expected "edges" (alpha re-solved around the edge), or no refine at all',
    ]);
    expect(issues([{ kind: 'cutout' }, { kind: 'mask', refine: true }])).toEqual([
      '1.refine: expected "edges" (alpha re-solved around the edge), or no refine at all',
    ]);
  });

  it('refuses a decontaminate that is not a boolean', () => {
    expect(issues([{ kind: 'white', decontaminate: 'yes' }])).toEqual([
      '0.decontaminate: Invalid input: expected boolean, received string',
    ]);
  });

  it('refuses decontaminate on a mask, which has no colours', () => {
    expect(issues([{ kind: 'mask', decontaminate: true }])).toEqual(['0: Unrecognized key: "decontaminate"']);
  });
});
