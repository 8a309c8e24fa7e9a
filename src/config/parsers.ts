import { z } from 'zod';

// Parsers for environment strings. Each one's error text completes the sentence "expected ...".

export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from "1500ms", "30s", "5m", "24h", "90d". */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * durationUnits[match[2]!]!);
}

export function duration(minMs = 0) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs) {
      ctx.addIssue({ code: 'custom', message: 'not a duration' });
      return z.NEVER;
    }
    return ms;
  });
}

/** "1s,5s,30s": up to 20 comma-separated durations of at least 10 ms (retry schedules). */
export function durationList() {
  return z.string().transform((text, ctx) => {
    const delays = text.split(',').map((part) => parseDuration(part));
    if (delays.length === 0 || delays.length > 20 || delays.some((ms) => ms === undefined || ms < 10)) {
      ctx.addIssue({ code: 'custom', message: 'not a duration list' });
      return z.NEVER;
    }
    return delays as number[];
  });
}

const byteUnits: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Bytes from "262144", "256KiB", "50MB", "1GiB". */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = byteUnits[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

export function byteSize(min = 1) {
  return z.string().transform((text, ctx) => {
    const bytes = parseByteSize(text);
    if (bytes === undefined || bytes < min) {
      ctx.addIssue({ code: 'custom', message: 'not a byte size' });
      return z.NEVER;
    }
    return bytes;
  });
}

export function flag() {
  return z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
    .transform((value) => value === 'true' || value === '1' || value === 'yes');
}

export function url(protocols: readonly string[]) {
  return z
    .string()
    .trim()
    .refine((text) => {
      try {
        return protocols.includes(new URL(text).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().trim().pipe(z.enum(values));
}

/** An identifier safe to embed in SQL schema names and AMQP resource names. */
export function identifier() {
  return z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_]{0,62}$/);
}

/** Standard base64 of exactly `length` bytes (a key); the string itself is kept. */
export function base64Bytes(length: number) {
  return z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/)
    .refine((encoded) => Buffer.from(encoded, 'base64').length === length);
}

export function text(maxLength = 4096) {
  return z.string().min(1).max(maxLength);
}
