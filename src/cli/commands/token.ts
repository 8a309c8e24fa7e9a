import { ApiError, ApiUnreachableError, requestAccessToken } from '../../client/index.js';
import { loadConfig } from '../../config.js';
import { errorMessage, UsageError } from '../../errors.js';
import { KeyFormatError } from '../../signing/errors.js';
import { parseCommandArgs, requireOption } from '../args.js';
import type { Command } from '../io.js';
import { keyFlagOptions, keyFlagsUsage, readKeyFlags } from '../key-flags.js';

const usage = `Usage: clearcut token --http URL [options]
Trades a client assertion signed with your key (RFC 7523, docs/protocol.md 9.2) for an access
token at URL/oauth/token and prints it, for calling the HTTP API with curl:
  TOKEN=$(clearcut token --http http://localhost:8080)
  curl -H "Authorization: Bearer $TOKEN" http://localhost:8080/v1/usage
Options:
  --http URL                    the HTTP API (e.g. https://api.example.com)
  --scope LIST                  space- or comma-separated scopes (default: all the key may have)
  --audience NAME               the API's issuer name, CLEARCUT_API_ISSUER there (default clearcut)
  --json                        print the whole answer (access_token, expires_in, scope)
${keyFlagsUsage}
Exit status: 0 printed, 1 error, 2 bad usage, 3 refused (reason printed).`;

const options = {
  help: { type: 'boolean', short: 'h' },
  http: { type: 'string' },
  scope: { type: 'string' },
  audience: { type: 'string' },
  json: { type: 'boolean' },
  ...keyFlagOptions,
} as const;

const refusedExitCode = 3;

export const run: Command = async (args, io) => {
  const { values } = parseCommandArgs('token', args, options, { positionals: false });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const url = requireOption('token', 'http', values.http);
  const { keyId, secret } = await readKeyFlags('token', values, loadConfig(io.env));
  const scopes = values.scope?.split(/[\s,]+/).filter((scope) => scope !== '');
  try {
    const answer = await requestAccessToken({ url, keyId, secret, audience: values.audience, scopes });
    io.out(values.json ? JSON.stringify(answer) : answer.access_token);
    return 0;
  } catch (error) {
    if (error instanceof KeyFormatError) throw new UsageError(`clearcut token: key: ${error.message}`);
    if (error instanceof TypeError) throw new UsageError(`clearcut token: --http: ${errorMessage(error)}`);
    if (error instanceof ApiError) {
      io.err(`clearcut token: refused (${error.reason}, HTTP ${error.status}): ${error.detail}`);
      return refusedExitCode;
    }
    if (error instanceof ApiUnreachableError) {
      io.err(`clearcut token: ${error.message}`);
      return 1;
    }
    throw error;
  }
};
