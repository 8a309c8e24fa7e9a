import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { addressVerdict } from '../../src/webhooks/address-policy.js';
import { createSystemLookup, resolveTarget } from '../../src/webhooks/resolve-target.js';
import { parseWebhookUrl } from '../../src/webhooks/webhook-url.js';

// The SSRF rules address by address, with and without CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES.

const strict = { allowPrivate: false };
const lenient = { allowPrivate: true };

describe('addressVerdict', () => {
  it.each([['8.8.8.8'], ['93.184.215.14'], ['2606:4700:4700::1111']])(
    'allows the public address %s',
    (address) => {
      expect(addressVerdict(address, strict)).toEqual({ allowed: true });
    },
  );

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private (RFC 1918)'],
    ['172.16.5.4', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['fd12:3456::1', 'unique local'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.1.1', 'private (RFC 1918)'],
  ])('refuses %s (%s) unless private addresses are allowed', (address, words) => {
    const verdict = addressVerdict(address, strict);
    expect(verdict.allowed).toBe(false);
    expect(!verdict.allowed && verdict.reason).toContain(words);
    expect(!verdict.allowed && verdict.reason).toContain('CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES');
    expect(addressVerdict(address, lenient)).toEqual({ allowed: true });
  });

  it.each([
    ['169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['169.254.170.2', 'cloud metadata'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['64:ff9b::7f00:1', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
  ])('refuses %s (%s) even when private addresses are allowed', (address, words) => {
    for (const policy of [strict, lenient]) {
      const verdict = addressVerdict(address, policy);
      expect(verdict.allowed).toBe(false);
      expect(!verdict.allowed && verdict.reason).toContain(words);
    }
  });

  it('refuses what is not an address', () => {
    expect(addressVerdict('example.com', lenient)).toEqual({
      allowed: false,
      reason: '"example.com" is not an IP address',
    });
  });
});

describe('resolveTarget', () => {
  const lookupTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('returns the vetted address a name resolves to', async () => {
    const target = await resolveTarget(new URL('https://hooks.example.com/x'), strict, {
      lookup: lookupTo('93.184.215.14'),
    });
    expect(target).toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('refuses a name when any of its addresses is refused', async () => {
    await expect(
      resolveTarget(new URL('https://mixed.example.com/'), strict, {
        lookup: lookupTo('93.184.215.14', '10.0.0.7'),
      }),
    ).rejects.toMatchObject({
      code: 'refused_address',
      message: expect.stringContaining(
        'refused: mixed.example.com → 10.0.0.7 is a private (RFC 1918) address',
      ),
    });
  });

  it('judges an IPv6 literal without asking DNS', async () => {
    const never = async () => {
      throw new Error('DNS asked');
    };
    await expect(
      resolveTarget(new URL('https://[::1]:8443/'), strict, { lookup: never }),
    ).rejects.toMatchObject({
      code: 'refused_address',
    });
    expect(await resolveTarget(new URL('https://[::1]:8443/'), lenient, { lookup: never })).toEqual({
      address: '::1',
      family: 6,
    });
  });

  it('says when a name does not resolve', async () => {
    const failing = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    await expect(
      resolveTarget(new URL('https://nowhere.invalid/'), strict, { lookup: failing }),
    ).rejects.toMatchObject({
      code: 'unresolvable',
      message: 'nowhere.invalid does not resolve (ENOTFOUND)',
    });
  });

  it('gives up on a resolver that never answers once its time is up', async () => {
    const hanging = () => new Promise<never>(() => {});
    await expect(
      resolveTarget(new URL('https://slow.example.com/'), strict, { lookup: hanging, timeoutMs: 50 }),
    ).rejects.toMatchObject({
      code: 'unresolvable',
      message: 'slow.example.com did not resolve within 50 ms',
    });
  });

  it('bounds a DNS server that never answers, without falling back to a lookup that would hang too', async () => {
    const silent = createSocket('udp4'); // takes queries, answers none
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const lookup = createSystemLookup({ servers: [`127.0.0.1:${silent.address().port}`] });
      await expect(
        resolveTarget(new URL('https://hooks.example.com/'), strict, { lookup, timeoutMs: 100 }),
      ).rejects.toMatchObject({
        code: 'unresolvable',
        message: 'hooks.example.com did not resolve within 100 ms',
      });
      // c-ares gives up by itself too; even localhost (in /etc/hosts) is not handed to getaddrinfo then.
      await expect(lookup('localhost')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    } finally {
      silent.close();
    }
  });

  it('resolves a name only /etc/hosts knows (localhost) with the default resolver', async () => {
    await expect(resolveTarget(new URL('https://localhost:8443/'), lenient)).resolves.toMatchObject({
      address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
    });
  });
});

describe('parseWebhookUrl', () => {
  it('accepts https, and http only when allowed', () => {
    expect(parseWebhookUrl('https://hooks.example.com/a?b=1', { allowHttp: false })).toBeInstanceOf(URL);
    expect(parseWebhookUrl('http://hooks.example.com/', { allowHttp: false })).toContain(
      'must start with https://',
    );
    expect(parseWebhookUrl('http://hooks.example.com/', { allowHttp: true })).toBeInstanceOf(URL);
  });

  it.each([
    ['ftp://hooks.example.com/', 'must start with'],
    ['https://user:pw@hooks.example.com/', 'user name or password'],
    ['https://hooks.example.com/#frag', '#fragment'],
    ['hooks.example.com/path', 'not an absolute URL'],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, 'longer than 2048'],
  ])('refuses %s', (text, words) => {
    expect(parseWebhookUrl(text, { allowHttp: true })).toContain(words);
  });
});
