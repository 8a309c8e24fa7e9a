import { Resolver, lookup as systemHostsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type AddressPolicy, addressVerdict } from './address-policy.js';

// A webhook URL's host resolved ONCE and every address vetted; the sender then connects to the
// vetted address itself (keeping the name for Host and TLS SNI), so a DNS answer that changes
// between check and connection (DNS rebinding) cannot redirect the request.
// Resolution is bounded: a slow resolver must not outlast an attempt's lease (a second process
// would send it again) nor hold `clearcut webhooks add` or POST /v1/webhooks open.

export interface ResolvedTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

/** How long resolving a host may take when the caller gives no deadline (`add`). */
export const defaultResolveTimeoutMs = 5_000;

// DNS does not know the name, or no DNS server takes the query (an offline host): the system's
// lookup may still find it in /etc/hosts, and fails fast otherwise. Never after a DNS timeout,
// where getaddrinfo would hang on a pool thread as well.
const lookupElsewhere = new Set(['ENOTFOUND', 'ENODATA', 'ECONNREFUSED', 'EREFUSED']);

/**
 * A and AAAA from DNS; a name DNS does not know (localhost, /etc/hosts entries) goes to the
 * system's lookup. c-ares (dns.Resolver) queries DNS itself, with its own timeout, off libuv's
 * small thread pool, where a hung getaddrinfo (dns.lookup) would sit and block file and other DNS
 * work. `servers` replaces the system's DNS servers (tests).
 */
export function createSystemLookup({ servers }: { servers?: string[] } = {}): Lookup {
  const resolver = new Resolver({ timeout: 1_000, tries: 2 });
  if (servers) resolver.setServers(servers);
  return async (hostname) => {
    const answers = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const addresses = answers.flatMap((answer, index) =>
      answer.status === 'fulfilled'
        ? answer.value.map((address) => ({ address, family: index === 0 ? 4 : 6 }))
        : [],
    );
    if (addresses.length > 0) return addresses;
    const stop = answers.find(
      (answer) =>
        answer.status === 'rejected' && !lookupElsewhere.has((answer.reason as { code?: string }).code ?? ''),
    );
    if (stop?.status === 'rejected') throw stop.reason;
    return systemHostsLookup(hostname, { all: true, verbatim: true });
  };
}

const systemLookup = createSystemLookup();

/** A host whose address is refused, or that does not resolve (in time). */
export class WebhookTargetError extends Error {
  constructor(
    readonly code: 'refused_address' | 'unresolvable',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

export interface ResolveOptions {
  /** DNS resolution (tests substitute one); DNS with a /etc/hosts fallback by default. */
  readonly lookup?: Lookup | undefined;
  /** The longest resolution may take; the lookup is abandoned after it. */
  readonly timeoutMs?: number | undefined;
}

export async function resolveTarget(
  url: URL,
  policy: AddressPolicy,
  { lookup = systemLookup, timeoutMs = defaultResolveTimeoutMs }: ResolveOptions = {},
): Promise<ResolvedTarget> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: readonly { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    addresses = await withinTime(host, lookup(host), timeoutMs);
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

async function withinTime<T>(host: string, lookup: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new WebhookTargetError(
            'unresolvable',
            `${host} did not resolve within ${Math.round(timeoutMs)} ms`,
          ),
        ),
      Math.max(0, timeoutMs),
    );
  });
  try {
    return await Promise.race([lookup, late]);
  } catch (error) {
    if (error instanceof WebhookTargetError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new WebhookTargetError('unresolvable', `${host} does not resolve (${String(code ?? error)})`);
  } finally {
    clearTimeout(timer);
  }
}
