import { readFile } from 'node:fs/promises';
import type { Config } from '../config.js';
import { errorMessage, UsageError } from '../errors.js';

/** The flags a producer command signs with; flags win over CLEARCUT_KEY_ID / CLEARCUT_KEY_SECRET. */
export const keyFlagOptions = {
  'key-id': { type: 'string' },
  'key-secret': { type: 'string' },
  'key-secret-file': { type: 'string' },
} as const;

export const keyFlagsUsage = `  --key-id ID                   or CLEARCUT_KEY_ID
  --key-secret SECRET           or CLEARCUT_KEY_SECRET (prefer the variable: flags show in \`ps\`)
  --key-secret-file PATH        read the secret or PEM private key from a file`;

type KeyFlagValues = { readonly [K in keyof typeof keyFlagOptions]?: string | undefined };

/** The key id and secret (as text) from the flags, else the environment; a usage error names what is missing. */
export async function readKeyFlags(
  command: string,
  values: KeyFlagValues,
  config: Config,
): Promise<{ keyId: string; secret: string }> {
  const fail = (message: string): never => {
    throw new UsageError(`clearcut ${command}: ${message} (see \`clearcut ${command} --help\`)`);
  };
  const keyId = values['key-id'] ?? config.producer.keyId ?? fail('--key-id or CLEARCUT_KEY_ID is required');
  if (values['key-secret'] !== undefined && values['key-secret-file'] !== undefined) {
    fail('give --key-secret or --key-secret-file, not both');
  }
  const file = values['key-secret-file'];
  const secret =
    (file === undefined
      ? values['key-secret']
      : await readFile(file, 'utf8').catch((error: unknown) =>
          fail(`--key-secret-file ${file}: ${errorMessage(error)}`),
        )) ?? config.producer.keySecret;
  if (secret === undefined) fail('--key-secret, --key-secret-file or CLEARCUT_KEY_SECRET is required');
  return { keyId, secret: secret as string };
}
