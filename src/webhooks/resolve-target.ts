import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type AddressPolicy, addressVerdict } from './address-policy.js';

// A webhook URL's host resolved ONCE and every address vetted; the sender then connects to the
// vetted address itself (keeping the name for Host and TLS SNI), so a DNS answer that changes
// between check and connection (DNS rebinding) cannot redirect the request.

export interface ResolvedTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A host whose address is refused, or that does not resolve. */
export class WebhookTargetError extends Error {
  constructor(
    readonly code: 'refused_address' | 'unresolvable',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

export async function resolveTarget(
  url: URL,
  policy: AddressPolicy,
  lookup: Lookup = systemLookup,
): Promise<ResolvedTarget> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: readonly { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new WebhookTargetError('unresolvable', `${host} does not resolve (${String(code ?? error)})`);
    }
    if (addresses.length === 0) throw new WebhookTargetError('unresolvable', `${host} has no address`);
  }
  // Every address must pass: a name with one public and one internal address is refused.
  for (const { address } of addresses) {
    const verdict = addressVerdict(address, policy);
    if (!verdict.allowed) {
      const via = address === host ? '' : `${host} → `;
      throw new WebhookTargetError('refused_address', `refused: ${via}${verdict.reason}`);
    }
  }
  const [first] = addresses;
  return { address: first!.address, family: first!.family === 6 ? 6 : 4 };
}
