import { removeSettings, removeVariables } from './api-remove.js';
import { section, variable } from './define.js';
import { duration, text, wholeNumber } from './parsers.js';

export const apiSection = section(
  {
    CLEARCUT_API_PORT: variable({
      doc: 'Port of the HTTP API (`clearcut api`): the /v1 endpoints, /oauth/token, and /healthz, /readyz, /metrics; 0 picks a free port.',
      expected: 'a port number from 0 to 65535',
      default: '8080',
      schema: wholeNumber(0, 65_535),
    }),
    CLEARCUT_API_ISSUER: variable({
      doc: 'Name of this API as an OAuth 2.0 authorization server: the `aud` a client assertion must carry and the `iss` of the access tokens it issues.',
      expected: 'text of 1 to 200 characters, such as https://api.example.com',
      default: 'clearcut',
      schema: text(200),
    }),
    CLEARCUT_API_REQUEST_TIMEOUT: variable({
      doc: 'Longest a client may take to send one whole request, headers and body: a slow or stalled upload is answered 408 and its connection closed (checked every second at most), so it cannot hold a connection.',
      expected: 'a duration from 1s to 10m, such as 30s',
      default: '30s',
      schema: duration(1000).refine((ms) => ms <= 600_000),
    }),
    CLEARCUT_API_TOKEN_TTL: variable({
      doc: 'Lifetime of an access token issued by POST /oauth/token (a revoked key stops its tokens at once anyway).',
      expected: 'a duration from 10s to 1h, such as 300s or 15m',
      default: '300s',
      schema: duration(10_000).refine((ms) => ms <= 3_600_000),
    }),
    ...removeVariables,
  },
  (v) => ({
    port: v.CLEARCUT_API_PORT,
    issuer: v.CLEARCUT_API_ISSUER,
    tokenTtlMs: v.CLEARCUT_API_TOKEN_TTL,
    requestTimeoutMs: v.CLEARCUT_API_REQUEST_TIMEOUT,
    remove: removeSettings(v),
  }),
);
