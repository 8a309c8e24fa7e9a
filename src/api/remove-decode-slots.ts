// How many uploads POST /v1/remove decodes at once in one API process. A decode holds the whole
// image's pixels (up to CLEARCUT_MAX_INPUT_PIXELS × 4 bytes), so unbounded concurrent uploads could
// exhaust the process's memory; the rest wait their turn, first come first served.

export interface DecodeSlots {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function createDecodeSlots(slots: number): DecodeSlots {
  let free = slots;
  const waiting: (() => void)[] = [];
  return {
    async run(work) {
      if (free > 0) free--;
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
