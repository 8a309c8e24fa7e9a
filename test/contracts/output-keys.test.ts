import { describe, expect, it } from 'vitest';
import { outputKeyFor, outputKeyTemplateProblem, sourceKeyParts } from '../../src/contracts/output-keys.js';
import { PermanentError } from '../../src/errors.js';

describe('output keys', () => {
  it('default to <prefix><source key without extension>.<rendition>.<ext>', () => {
    const key = (sourceKey: string, kind: 'cutout' | 'white', format: 'png' | 'jpeg') =>
      outputKeyFor({ prefix: 'out/', sourceKey, rendition: { kind, format } });
    expect(key('shoes/red.JPG', 'cutout', 'png')).toBe('out/shoes/red.cutout.png');
    expect(key('shoes/red.tar.gz', 'white', 'jpeg')).toBe('out/shoes/red.tar.white.jpg');
    expect(key('no-extension', 'cutout', 'png')).toBe('out/no-extension.cutout.png');
    expect(key('dir.v2/.hidden', 'cutout', 'png')).toBe('out/dir.v2/.hidden.cutout.png');
  });

  it('splits source keys into the template parts', () => {
    expect(sourceKeyParts('a/b/c.jpg')).toEqual({ key: 'a/b/c', dir: 'a/b/', name: 'c' });
    expect(sourceKeyParts('c.jpg')).toEqual({ key: 'c', dir: '', name: 'c' });
  });

  it('render a template override', () => {
    const key = outputKeyFor({
      prefix: '',
      template: 'cutouts/{dir}{name}-{rendition}.{ext}',
      sourceKey: 'a/b/c.jpg',
      rendition: { kind: 'mask', format: 'png' },
    });
    expect(key).toBe('cutouts/a/b/c-mask.png');
  });

  it('refuse templates that are unusable', () => {
    expect(outputKeyTemplateProblem('{key}.{rendition}.{ext}')).toBeUndefined();
    expect(outputKeyTemplateProblem('{kee}.{ext}')).toMatch(/unknown placeholder \{kee\}/);
    expect(outputKeyTemplateProblem('{key.{ext}')).toMatch(/unmatched/);
    expect(outputKeyTemplateProblem('{rendition}.{ext}')).toMatch(/must contain \{key\} or \{name\}/);
    expect(outputKeyTemplateProblem('../{key}.{ext}')).toMatch(/segments/);
    expect(outputKeyTemplateProblem('/{key}')).toMatch(/start with/);
    expect(outputKeyTemplateProblem('{key}\n')).toMatch(/control/);
  });

  it('fail the item permanently when the rendered key is not a valid key', () => {
    const render = () =>
      outputKeyFor({
        prefix: 'x/',
        template: '{name}',
        sourceKey: 'a/...jpg',
        rendition: { kind: 'cutout', format: 'png' },
      });
    expect(render).toThrow(PermanentError);
    expect(render).toThrow(/segments/);
  });

  it('give each size of a rendition its own key: {size}, by default before the extension', () => {
    const rendition = { kind: 'white', format: 'jpeg' } as const;
    expect(outputKeyFor({ prefix: 'out/', sourceKey: 'shoes/red.jpg', rendition, size: 800 })).toBe(
      'out/shoes/red.white.800.jpg',
    );
    const template = '{size}/{key}.{ext}';
    expect(outputKeyFor({ prefix: '', template, sourceKey: 'a/b.png', rendition, size: 200 })).toBe(
      '200/a/b.jpg',
    );
    // A rendition without sizes is the full-size output.
    expect(outputKeyFor({ prefix: '', template, sourceKey: 'a/b.png', rendition })).toBe('full/a/b.jpg');
    expect(outputKeyTemplateProblem(template)).toBeUndefined();
  });
});
