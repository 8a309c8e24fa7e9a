import { PermanentError } from '../errors.js';
import { decodeImage, type ImageLimits } from '../images/decode.js';
import { type ImageRefusalCode, imageRefusalCodes } from '../images/refusal.js';
import type { SupportedFormat } from '../images/sniff.js';
import { ProblemError, problem } from './problems.js';

// The image of a POST /v1/remove: the raw body, or the one file part of a multipart form (with an
// optional `rendition` field), checked with the worker's own validation before anything is admitted.

export interface Upload {
  readonly image: Buffer;
  /** The body's Content-Type, or the file part's. */
  readonly declaredType: string;
  /** The `rendition` form field (JSON of one rendition), when the form has one. */
  readonly renditionField?: string;
}

export interface CheckedImage {
  readonly format: SupportedFormat;
  readonly width: number;
  readonly height: number;
}

const imageTypes: Readonly<Record<string, SupportedFormat | undefined>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'application/octet-stream': undefined,
};
const accepted =
  'send the image as the body with Content-Type image/jpeg, image/png, image/webp or application/octet-stream, or as the one file of a multipart/form-data form';

/** Reads the upload out of the body as received (the signature covered exactly these bytes). */
export async function readUpload(contentType: string | undefined, body: Buffer): Promise<Upload> {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'multipart/form-data') return readForm(contentType!, body);
  if (!Object.hasOwn(imageTypes, mediaType)) {
    const given = mediaType === '' ? 'no Content-Type' : `Content-Type ${mediaType.slice(0, 100)}`;
    throw new ProblemError(problem('unsupported_media_type', `${given}: ${accepted}`));
  }
  return { image: body, declaredType: mediaType };
}

async function readForm(contentType: string, body: Buffer): Promise<Upload> {
  let form: FormData;
  try {
    // undici's multipart parser, the one `fetch` uses: the body is already read and size-capped.
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (error) {
    throw new ProblemError(
      problem(
        'invalid_request',
        `the multipart/form-data body could not be read: ${String(error).slice(0, 200)}`,
      ),
    );
  }
  const files: File[] = [];
  let renditionField: string | undefined;
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string') files.push(value);
    else if (name === 'rendition' && renditionField === undefined) renditionField = value;
    else {
      throw new ProblemError(
        problem(
          'invalid_request',
          `form field "${name.slice(0, 100)}": the form takes one file and an optional "rendition" field (JSON of one rendition), once`,
        ),
      );
    }
  }
  if (files.length !== 1) {
    throw new ProblemError(
      problem('invalid_request', `the form holds ${files.length} files; send exactly one image file`),
    );
  }
  const file = files[0]!;
  const image = Buffer.from(await file.arrayBuffer());
  return { image, declaredType: file.type, ...(renditionField === undefined ? {} : { renditionField }) };
}

/**
 * Decodes the image as the worker will (size, real format, pixel limit, animation, damage,
 * decode time) and answers a refusal with the worker's code; checks a declared image type.
 */
export async function checkImage(
  { image, declaredType }: Upload,
  limits: ImageLimits,
): Promise<CheckedImage> {
  let decoded: Awaited<ReturnType<typeof decodeImage>>;
  try {
    decoded = await decodeImage(image, limits);
  } catch (error) {
    if (error instanceof PermanentError && isImageRefusal(error.code)) {
      throw new ProblemError(problem(error.code, error.message));
    }
    throw error;
  }
  const declared = imageTypes[declaredType.split(';')[0]!.trim().toLowerCase()];
  if (declared !== undefined && declared !== decoded.format) {
    throw new ProblemError(
      problem(
        'unsupported_media_type',
        `Content-Type says image/${declared}, but the bytes are a ${decoded.format.toUpperCase()} image: send the type the bytes have`,
      ),
    );
  }
  return { format: decoded.format, width: decoded.width, height: decoded.height };
}

const isImageRefusal = (code: string): code is ImageRefusalCode =>
  (imageRefusalCodes as readonly string[]).includes(code);
