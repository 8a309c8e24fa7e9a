// Bounds how many images a worker holds between download and mask: the one the model is running
// and one downloaded and decoded ahead of it, so the model never waits for I/O while the memory of
// decoded images stays bounded however many tasks the broker hands over (CLEARCUT_WORKER_PREFETCH
// tasks per lane wait before their download instead). Rendering, encoding and uploading a finished
// image overlap the next one's inference outside the gate.
export interface ImageGate {
  /** Waits for a slot (rejects when `signal` aborts first); the returned release may be called more than once. */
  enter(signal?: AbortSignal): Promise<() => void>;
}

export function createImageGate(slots: number): ImageGate {
  let free = slots;
  const waiting: (() => void)[] = [];
  const leave = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    async enter(signal) {
      signal?.throwIfAborted();
      if (free > 0) free--;
      else
        await new Promise<void>((resolve, reject) => {
          const take = () => {
            signal?.removeEventListener('abort', abandon);
            resolve();
          };
          const abandon = () => {
            waiting.splice(waiting.indexOf(take), 1);
            reject(signal?.reason);
          };
          waiting.push(take);
          signal?.addEventListener('abort', abandon, { once: true });
        });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        leave();
      };
    },
  };
}
