import { describe, expect, it } from 'vitest';
import { unreachableReason } from '../../src/client/errors.js';

// What the client says when nothing answered, for the shapes of error fetch (undici) throws.

const refused = (address: string) =>
  Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });

describe('unreachableReason', () => {
  it("names the network's own reason under fetch's 'fetch failed'", () => {
    expect(unreachableReason(new TypeError('fetch failed', { cause: refused('127.0.0.1:8080') }))).toBe(
      'connect ECONNREFUSED 127.0.0.1:8080',
    );
  });

  it('names every address of a host that has several (an AggregateError with an empty message)', () => {
    const both = new AggregateError([refused('::1:8080'), refused('127.0.0.1:8080')], '');
    expect(unreachableReason(new TypeError('fetch failed', { cause: both }))).toBe(
      'connect ECONNREFUSED ::1:8080; connect ECONNREFUSED 127.0.0.1:8080',
    );
  });

  it('falls back to the code, then to the outer message, never to nothing', () => {
    const silent = Object.assign(new Error(''), { code: 'ETIMEDOUT' });
    expect(unreachableReason(new TypeError('fetch failed', { cause: silent }))).toBe('ETIMEDOUT');
    expect(unreachableReason(new TypeError('fetch failed', { cause: new Error('') }))).toBe('fetch failed');
    expect(unreachableReason('socket hang up')).toBe('socket hang up');
  });
});
