// Pure rules for S3 bucket names and object keys, shared by the job contract, the gateway's grant
// checks, the worker and the storage layer. Keys are taken byte-exact (S3 compares bytes; changing
// a key's Unicode form would address another object), so "normalised" here means: every form that
// different tools could read differently is refused instead of guessed at.

const maxKeyBytes = 1024;
/** In u-mode a paired surrogate is one code point, so this matches only unpaired halves. */
const loneSurrogate = /\p{Cs}/u;
/** C0 controls, DEL, C1 controls, and the bidirectional overrides that make a key display as another. */
const forbiddenCharacters = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Why `name` is not a valid S3 bucket name (AWS general-purpose bucket rules), or undefined. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3–63 characters long (got ${name.length})`;
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return 'must not contain "..", ".-" or "-."';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'must not start with xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    return 'must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3';
  }
  return undefined;
}

/** Why `key` is not an acceptable object key, or undefined. */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  return pathProblem(key);
}

/** Why `prefix` is not an acceptable key prefix (the empty prefix, a whole bucket, is fine), or undefined. */
export function objectPrefixProblem(prefix: string): string | undefined {
  return prefix.length === 0 ? undefined : pathProblem(prefix);
}

function pathProblem(path: string): string | undefined {
  if (loneSurrogate.test(path)) return 'contains an unpaired UTF-16 surrogate (not encodable as UTF-8)';
  if (Buffer.byteLength(path, 'utf8') > maxKeyBytes) return `must be at most ${maxKeyBytes} bytes of UTF-8`;
  if (forbiddenCharacters.test(path)) return 'must not contain control characters';
  if (path.startsWith('/')) return 'must not start with "/" (S3 keys are relative to the bucket)';
  // Both separators: tools on Windows and some S3 clients treat "\" as a path separator.
  if (path.split(/[/\\]/).some((segment) => segment === '.' || segment === '..')) {
    return 'must not contain "." or ".." path segments';
  }
  return undefined;
}

/** True when `key` lies under `prefix` as plain text: a grant on `a/` covers `a/x` but never `ab/x`. */
export function keyIsUnderPrefix(key: string, prefix: string): boolean {
  return key.startsWith(prefix);
}

/** `s3://bucket/key-or-prefix` → parts; the path may be empty (`s3://bucket` or `s3://bucket/`). */
export function parseS3Uri(uri: string): { bucket: string; path: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/s.exec(uri);
  if (!match) throw new Error(`"${uri}" is not an s3:// URI: expected s3://bucket/path`);
  const bucket = match[1]!;
  const path = match[2] ?? '';
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) throw new Error(`bucket "${bucket}" in ${uri} ${bucketProblem}`);
  const keyProblem = objectPrefixProblem(path);
  if (keyProblem) throw new Error(`the key part of ${uri} ${keyProblem}`);
  return { bucket, path };
}
