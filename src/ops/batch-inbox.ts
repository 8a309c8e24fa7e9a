// Collects deliveries into batches: a batch is ready when it is full, or `windowMs` after its first
// message arrived. Whatever piled up while the previous batch was being decided is ready at once.

export interface BatchInbox<T> {
  push(item: T): void;
  /** The next batch; resolves empty once closed and drained. */
  next(): Promise<T[]>;
  /** No more pushes; next() hands out what is left, then empty batches. */
  close(): void;
  readonly size: number;
}

export function createBatchInbox<T>(maxSize: number, windowMs: number): BatchInbox<T> {
  const items: T[] = [];
  let closed = false;
  let waiter: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let windowOver = false;

  const ready = () => closed || items.length >= maxSize || (items.length > 0 && windowOver);
  const wake = () => {
    if (waiter && ready()) {
      const resolve = waiter;
      waiter = undefined;
      resolve();
    }
  };
  const startWindow = () => {
    windowOver = windowMs === 0;
    if (windowOver) return;
    timer = setTimeout(() => {
      timer = undefined;
      windowOver = true;
      wake();
    }, windowMs);
  };

  return {
    push(item) {
      if (items.length === 0 && timer === undefined) startWindow();
      items.push(item);
      wake();
    },
    async next() {
      if (!ready()) await new Promise<void>((resolve) => (waiter = resolve));
      const batch = items.splice(0, maxSize);
      clearTimeout(timer);
      timer = undefined;
      // Leftovers waited a whole batch already: no new window for them.
      windowOver = items.length > 0;
      return batch;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      wake();
    },
    get size() {
      return items.length;
    },
  };
}
