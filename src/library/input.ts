// What a library caller may hand in as an image, turned into the bytes the pipeline decodes. A path
// is checked for size before it is read, as `clearcut remove` does, so an oversized file is refused
// without loading it.
import { readFile, stat } from 'node:fs/promises';
import { PermanentError } from '../errors.js';
import { checkInputSize, type ImageLimits } from '../images/decode.js';

/** Encoded image bytes (JPEG, PNG or WebP), a Blob of them, or the path or file: URL of a file. */
export type ImageInput = Uint8Array | ArrayBuffer | Blob | string | URL;

export async function readImageInput(input: ImageInput, limits: ImageLimits): Promise<Buffer> {
  if (typeof input === 'string' || input instanceof URL) return readImageFile(input, limits);
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return Buffer.from(input);
  if (input instanceof Blob) {
    checkInputSize(input.size, limits);
    return Buffer.from(await input.arrayBuffer());
  }
  throw new PermanentError(
    'invalid_options',
    `An image must be a Uint8Array or Buffer, an ArrayBuffer, a Blob, a file path or a file: URL, not ${describe(input)}.`,
  );
}

async function readImageFile(path: string | URL, limits: ImageLimits): Promise<Buffer> {
  const size = await stat(path).then(
    (stats) => (stats.isFile() ? stats.size : undefined),
    () => undefined,
  );
  if (size === undefined) {
    throw new PermanentError('not_found', `${String(path)} does not exist or is not a file.`);
  }
  checkInputSize(size, limits);
  return readFile(path);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return `a ${value.constructor?.name ?? 'plain object'}`;
}
