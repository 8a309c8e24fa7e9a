// `models pull`: download a registry model, verify its SHA-256, and only then move it into place.

import type { ModelSpec } from '../../models/model-spec.js';
import { PermanentError, TransientError } from '../errors.js';
import { fileDigest } from './model-digest.js';
import { writeFileAtomically } from './model-file-writer.js';
import { type ModelsConfig, modelUrl, weightsPath } from './registry.js';

export interface PullOptions {
  /** Download again even when a verified copy is present. */
  readonly force?: boolean;
  /** Called as bytes arrive; total is undefined when the server sends no Content-Length. */
  readonly onProgress?: (received: number, total: number | undefined) => void;
  /** Give up when no byte arrives for this long. */
  readonly idleTimeoutMs?: number;
}

export interface PullResult {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly downloaded: boolean;
}

export async function pullModel(
  config: ModelsConfig,
  spec: ModelSpec,
  options: PullOptions = {},
): Promise<PullResult> {
  const path = weightsPath(config, spec);
  if (!options.force) {
    const present = await fileDigest(path);
    if (present?.sha256 === spec.sha256) return { path, ...present, downloaded: false };
  }
  const url = modelUrl(config, spec);
  const idle = new IdleTimer(options.idleTimeoutMs ?? 30_000);
  try {
    const response = await fetch(url, { signal: idle.signal, redirect: 'follow' }).catch((error: unknown) => {
      throw unreachable(url, path, spec, error);
    });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new PermanentError(
        'model_download_failed',
        `GET ${url} answered ${response.status} ${response.statusText}; the model file is not there. ` +
          'Check CLEARCUT_MODEL_BASE_URL if you use a mirror.',
      );
    }
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    const digest = await writeFileAtomically(
      path,
      async (sink) => {
        let received = 0;
        idle.touch();
        try {
          for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
            idle.touch();
            await sink(chunk);
            received += chunk.byteLength;
            options.onProgress?.(received, total);
          }
        } catch (error) {
          throw unreachable(url, path, spec, error);
        }
      },
      {
        check: ({ sha256, size }) => {
          if (sha256 === spec.sha256) return;
          throw new PermanentError(
            'model_checksum_mismatch',
            `The file from ${url} (${size} bytes) has sha256 ${sha256}, expected ${spec.sha256}; it was discarded. ` +
              'The download was corrupted or the source serves a different file.',
          );
        },
      },
    );
    return { path, ...digest, downloaded: true };
  } finally {
    idle.stop();
  }
}

function unreachable(url: string, path: string, spec: ModelSpec, error: unknown): TransientError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const reason =
    (cause as NodeJS.ErrnoException | undefined)?.code ??
    (cause instanceof Error ? cause.message : String(cause));
  return new TransientError(
    'model_unreachable',
    `Cannot download ${url} (${reason}). If this machine is offline, fetch ${spec.file} on one that is ` +
      `online (sha256 ${spec.sha256}) and copy it to ${path}; \`clearcut models list\` then verifies it.`,
    { cause: error },
  );
}

/** Aborts a download that stalls, however long the whole file takes. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  readonly signal = this.controller.signal;

  constructor(private readonly timeoutMs: number) {
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.controller.abort(new Error(`no data for ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
