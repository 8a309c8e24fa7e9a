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
  options: UntilOptions = {},
): Promise<void> {
  await untilValue(async () => ((await check()) ? true : undefined), options);
}

/** Polls `probe` until it gives a value (anything but undefined or false) and returns that value. */
export async function untilValue<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 15_000, intervalMs = 20, what = 'a condition' }: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
