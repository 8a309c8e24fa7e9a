// Polls a condition instead of sleeping a fixed time: tests wait only as long as they must, and a
// condition that never comes true fails with a message naming what was awaited.

export type UntilOptions = {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("the worker to ack three deliveries"). */
  what?: string;
};

export async function until(
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 15_000, intervalMs = 20, what = 'a condition' }: UntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
