import ipaddr from 'ipaddr.js';

// Which addresses a webhook may be sent to (SSRF protection, docs/webhooks.md). Checked on the
// addresses a host name resolves to, at `add` and before every attempt; pure so it can be tested
// address by address.

export interface AddressPolicy {
  /** CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: loopback, private, link-local, ULA and CGNAT allowed. */
  readonly allowPrivate: boolean;
}

export type AddressVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string };

/** Instance metadata services (AWS, GCP, Azure, ECS, Alibaba): refused even when private addresses are allowed. */
const metadataAddresses = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200']);

const rangeWords: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  uniqueLocal: 'a unique local (private IPv6) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  unspecified: 'the unspecified address',
  reserved: 'a reserved (documentation or benchmarking) address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};

/** The ranges CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES opens; everything else but unicast stays closed. */
const privateRanges = new Set(['loopback', 'private', 'uniqueLocal', 'linkLocal', 'carrierGradeNat']);

export function addressVerdict(address: string, policy: AddressPolicy): AddressVerdict {
  if (!ipaddr.isValid(address)) return { allowed: false, reason: `"${address}" is not an IP address` };
  // ::ffff:127.0.0.1 is 127.0.0.1: judge the IPv4 address it carries.
  const parsed = ipaddr.process(address);
  const normal = parsed.toNormalizedString();
  const shown = parsed.toString();
  if (metadataAddresses.has(parsed.kind() === 'ipv6' ? parsed.toString() : normal)) {
    return { allowed: false, reason: `${shown} is a cloud metadata address` };
  }
  const range = parsed.range();
  if (range === 'unicast') return { allowed: true };
  if (policy.allowPrivate && privateRanges.has(range)) return { allowed: true };
  const words = rangeWords[range] ?? `in the special-purpose range "${range}"`;
  const hint = privateRanges.has(range)
    ? ' (an operator can allow these with CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)'
    : '';
  return { allowed: false, reason: `${shown} is ${words}${hint}` };
}
