import { describe, expect, it } from 'vitest';
import {
  bucketNameProblem,
  keyIsUnderPrefix,
  objectKeyProblem,
  objectPrefixProblem,
  parseS3Uri,
} from '../../src/contracts/object-keys.js';

describe('bucket names', () => {
  it('accepts S3 bucket names', () => {
    for (const name of ['abc', 'my-bucket', 'my.bucket.2024', 'a'.repeat(63), '0bucket9']) {
      expect(bucketNameProblem(name)).toBeUndefined();
    }
  });

  it.each([
    ['ab', /3–63/],
    ['a'.repeat(64), /3–63/],
    ['My-Bucket', /lowercase/],
    ['my_bucket', /lowercase/],
    ['-bucket', /begin and end/],
    ['bucket.', /begin and end/],
    ['my..bucket', /"\.\."/],
    ['my.-bucket', /"\.-"/],
    ['192.168.1.1', /IP address/],
    ['xn--bucket', /xn--/],
    ['bucket-s3alias', /-s3alias/],
    ['buc ket', /lowercase/],
  ])('refuses %s', (name, problem) => {
    expect(bucketNameProblem(name)).toMatch(problem);
  });
});

describe('object keys', () => {
  it('accepts ordinary keys byte-exact, including Unicode, spaces, dots in names and double slashes', () => {
    for (const key of [
      'a.jpg',
      'shoes/red shoe.JPG',
      'été/çà.png',
      '日本/写真.webp',
      'a/..b/c..',
      'a//b.jpg',
      '...jpg',
      '😀.png',
    ]) {
      expect(objectKeyProblem(key)).toBeUndefined();
    }
  });

  it.each([
    ['', /empty/],
    ['..', /segments/],
    ['a/../b.jpg', /segments/],
    ['../b.jpg', /segments/],
    ['a/..', /segments/],
    ['a/./b.jpg', /segments/],
    ['a\\..\\b.jpg', /segments/],
    ['/a.jpg', /start with/],
    ['a\u0000.jpg', /control/],
    ['a\n.jpg', /control/],
    ['a\r.jpg', /control/],
    ['a\u007f.jpg', /control/],
    ['a\u0085.jpg', /control/],
    ['a\u202e.gpj', /control/],
    ['a\ud800.jpg', /surrogate/],
    ['é'.repeat(513), /1024 bytes/],
  ])('refuses %j', (key, problem) => {
    expect(objectKeyProblem(key)).toMatch(problem);
  });

  it('limits keys in UTF-8 bytes, not characters', () => {
    expect(objectKeyProblem('a'.repeat(1024))).toBeUndefined();
    expect(objectKeyProblem('a'.repeat(1025))).toMatch(/1024 bytes/);
    expect(objectKeyProblem('é'.repeat(512))).toBeUndefined();
  });

  it('allows the empty prefix (a whole bucket) but applies the key rules to others', () => {
    expect(objectPrefixProblem('')).toBeUndefined();
    expect(objectPrefixProblem('photos/')).toBeUndefined();
    expect(objectPrefixProblem('photos/../')).toMatch(/segments/);
    expect(objectPrefixProblem('\u0007')).toMatch(/control/);
  });

  it('treats prefixes as text: a grant on a/ does not cover ab/x', () => {
    expect(keyIsUnderPrefix('a/x.jpg', 'a/')).toBe(true);
    expect(keyIsUnderPrefix('ab/x.jpg', 'a/')).toBe(false);
    expect(keyIsUnderPrefix('anything', '')).toBe(true);
  });
});

describe('parseS3Uri', () => {
  it('splits bucket and path', () => {
    expect(parseS3Uri('s3://out/cutouts/')).toEqual({ bucket: 'out', path: 'cutouts/' });
    expect(parseS3Uri('s3://out')).toEqual({ bucket: 'out', path: '' });
    expect(parseS3Uri('s3://out/a b/c.csv')).toEqual({ bucket: 'out', path: 'a b/c.csv' });
  });

  it('says what is wrong', () => {
    expect(() => parseS3Uri('https://out/x')).toThrow(/not an s3:\/\/ URI/);
    expect(() => parseS3Uri('s3://Out/x')).toThrow(/bucket "Out" .* lowercase/);
    expect(() => parseS3Uri('s3://out/../x')).toThrow(/segments/);
  });
});
