// The shape of a webhook URL, checked at `add` (and again before each attempt, with the address).
// Pure: no DNS here (resolve-target.ts resolves and vets the addresses).

export const maxWebhookUrlLength = 2048;

export interface UrlPolicy {
  /** CLEARCUT_WEBHOOKS_ALLOW_HTTP: plain http:// accepted. */
  readonly allowHttp: boolean;
}

/** The URL, or a sentence saying what is wrong with it and what is expected. */
export function parseWebhookUrl(text: string, policy: UrlPolicy): URL | string {
  if (text.length > maxWebhookUrlLength) return `the URL is longer than ${maxWebhookUrlLength} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text.slice(0, 200)}" is not an absolute URL such as https://hooks.example.com/clearcut`;
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    const allowed = policy.allowHttp
      ? 'https:// or http://'
      : 'https:// (http:// only where the operator set CLEARCUT_WEBHOOKS_ALLOW_HTTP)';
    return `the URL must start with ${allowed}, not ${url.protocol}//`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'the URL must not carry a user name or password: receivers authenticate deliveries by their signature';
  }
  if (url.hash !== '') return 'the URL must not have a #fragment (it is never sent)';
  return url;
}
