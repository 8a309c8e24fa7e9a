import { renditionFormats } from '../contracts/renditions.js';
import { component, jobIdSchema, problems, query, secured } from './openapi-parts.js';
import { cleanupQueryFields, renditionQueryFields } from './remove-options.js';

// POST /v1/remove in the OpenAPI document (src/api/openapi.ts adds it to the paths; the Rendition,
// JobAccepted and Problem schemas are that document's components).

const binary = { type: 'string', contentMediaType: 'application/octet-stream' };
const imageTypes = ['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'];
const answerTypes = [...new Set(Object.values(renditionFormats).flat())].map((format) => `image/${format}`);

const optionParameter = (name: string) =>
  query(
    name,
    name === 'model'
      ? "The job's model"
      : (cleanupQueryFields as readonly string[]).includes(name)
        ? `The rendition's cleanup.${name}`
        : `The rendition's ${name}${name === 'kind' ? ' (default: background when a background is given, else cutout)' : ''}`,
  );

export const removePath = {
  post: {
    summary: 'Remove the background of one image and answer the rendition (or 202 when it takes longer)',
    description:
      'The image is the body (or the one file of a form); the rendition is given by query options or by the form field `rendition` (JSON). docs/api.md, POST /v1/remove.',
    security: secured,
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'The job id; a retry with the same one answers the same job. Default: a new id.',
        schema: jobIdSchema,
      },
      ...['model', ...renditionQueryFields, ...cleanupQueryFields].map(optionParameter),
    ],
    requestBody: {
      required: true,
      content: {
        ...Object.fromEntries(imageTypes.map((type) => [type, { schema: binary }])),
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['image'],
            properties: { image: binary, rendition: component('Rendition') },
          },
          encoding: { rendition: { contentType: 'application/json' } },
        },
      },
    },
    responses: {
      200: {
        description: 'The rendition',
        headers: {
          'ClearCut-Job-Id': { description: 'The job that made it', schema: { type: 'string' } },
        },
        content: Object.fromEntries(answerTypes.map((type) => [type, { schema: binary }])),
      },
      202: {
        description: 'Not finished within the wait: follow the job, or retry with the same Idempotency-Key',
        content: { 'application/json': { schema: component('JobAccepted') } },
      },
      ...problems(
        [400, 401, 403, 404, 409, 413, 415, 422, 429, 503],
        'A problem (reason: the admission codes of POST /v1/jobs, an image refusal code, or busy)',
      ),
    },
  },
};
