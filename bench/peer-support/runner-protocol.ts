// Messages between bench/peer.ts and the child processes that run one system each (ours or the
// peer). One process per system: each side's peak RSS is its own, and the peer's onnxruntime-node
// 1.17 and sharp 0.33 never share a process with ours (1.30, 0.35).

export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly name: string;
  readonly bytes: Uint8Array;
  /** image/jpeg, image/png or image/webp (the peer needs it; ours sniffs the bytes). */
  readonly mime: string;
}

export interface RunResult {
  readonly type: 'result';
  readonly id: number;
  /** Source bytes in → PNG cutout bytes out. */
  readonly totalMs: number;
  /** Inside ONNX Runtime's session.run. */
  readonly modelMs: number;
  /** The PNG cutout the user gets. */
  readonly png: Uint8Array;
  /** The alpha before encoding, when the PNG does not keep it exactly (the peer's is palette-quantized). */
  readonly alpha?: Uint8Array;
  /** Peak resident set of the process so far. */
  readonly maxRssMiB: number;
}

export type RunnerReply =
  | {
      readonly type: 'ready';
      readonly loadMs: number;
      readonly maxRssMiB: number;
      readonly description: string;
    }
  | RunResult
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** What ours-runner.ts loads: a local ONNX file with a registry family's processing. */
export interface OursRunnerOptions {
  readonly modelPath: string;
  readonly family: string;
  readonly mean?: readonly [number, number, number];
  readonly std?: readonly [number, number, number];
  readonly threads: number;
}

export interface PeerRunnerOptions {
  /** The peer's model name: small (quantized) or medium (fp16). */
  readonly model: 'small' | 'medium';
}

export function maxRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Serves requests one at a time from the parent over IPC; `handle` returns the reply. */
export function serveRequests(handle: (request: RunRequest) => Promise<RunResult>): void {
  let queue = Promise.resolve();
  process.on('message', (request: RunRequest) => {
    queue = queue.then(async () => {
      const reply: RunnerReply = await handle(request).catch((error: unknown) => ({
        type: 'error' as const,
        id: request.id,
        message: error instanceof Error ? error.message : String(error),
      }));
      process.send?.(reply);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
