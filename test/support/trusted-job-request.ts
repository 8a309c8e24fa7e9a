import type { AdmissionRequest } from '../../src/admission/request.js';

/**
 * An admission request for a one-image job (bucket in-a → out-a) that needs no key or nonce, as an
 * S3 trigger rule's: for tests that drive admission directly on the real database.
 */
export function trustedJobRequest(tenantId: string, jobId: string, metadata?: unknown): AdmissionRequest {
  const job = {
    version: 1,
    input: { bucket: 'in-a', key: `${jobId}.jpg` },
    output: { bucket: 'out-a', prefix: '' },
    ...(metadata === undefined ? {} : { metadata }),
  };
  return {
    tenantId,
    jobId,
    keyId: null,
    nonce: null,
    body: { value: job },
    repeated: false,
    origin: { source: 'job' },
  };
}
