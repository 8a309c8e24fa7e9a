// How many uploads POST /v1/remove decodes at once in one API process. A decode holds the whole
// image's pixels (up to CLEARCUT_MAX_INPUT_PIXELS × 4 bytes), so unbounded concurrent uploads could
// exhaust the process's memory; the rest wait their turn, first come first served, in a line of
// bounded length: one more is refused at once rather than held with its body.

export interface DecodeSlots {
  /** Runs `work` in a slot; rejects with DecodeLineFull, without running it, when the line is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export class DecodeLineFull extends Error {
  constructor(readonly waiting: number) {
    super(`${waiting} uploads already wait for a decode`);
    this.name = 'DecodeLineFull';
  }
}

export function createDecodeSlots(slots: number, maxWaiting: number): DecodeSlots {
  let free = slots;
  const waiting: (() => void)[] = [];
  return {
    async run(work) {
      if (free > 0) free--;
      else if (waiting.length >= maxWaiting) throw new DecodeLineFull(waiting.length);
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await work();
      } finally {
        // Hand the slot straight to the next in line, or give it back.
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
  };
}
