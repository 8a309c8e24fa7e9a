// Image-sized buffers kept between tasks. A worker makes the same few large buffers for every
// image (the mask at the source's size, the RGBA cutout): fresh, each is external memory to V8,
// which runs a full collection for about every 64 MiB of it, and memory glibc maps afresh and the
// kernel zeroes page by page. Kept here, the next image of the same size reuses them.
//
// Ownership: whoever takes a buffer gives it back once nothing reads it any more (no sharp
// pipeline, encoder or upload still holding it); a buffer never given back is left to V8 like any
// other. Only buffers this pool lent are taken back, once each, so giving a foreign or already
// returned buffer does nothing, and two tasks in flight never share one.

export interface BufferPool {
  /** A buffer of exactly `bytes` bytes, offset 0 in its ArrayBuffer; its contents are undefined. */
  take(bytes: number): Buffer;
  /** Returns buffers this pool lent; nothing may read or write them afterwards. */
  give(...buffers: readonly (ArrayBufferView | undefined)[]): void;
}

/** Idle ArrayBuffers kept at most, in bytes (the oldest go first); a larger one is never kept. */
export function createBufferPool(maxIdleBytes: number): BufferPool {
  const idle: ArrayBuffer[] = [];
  let idleBytes = 0;
  // Weak: a buffer its taker keeps (or drops without giving back) is not held here.
  const lent = new WeakSet<ArrayBuffer>();
  return {
    take(bytes) {
      // The smallest idle buffer that holds `bytes` without wasting more than their size again.
      let best = -1;
      for (let index = 0; index < idle.length; index++) {
        const length = idle[index]!.byteLength;
        if (length >= bytes && length <= 2 * bytes && (best < 0 || length < idle[best]!.byteLength))
          best = index;
      }
      const buffer = best < 0 ? new ArrayBuffer(bytes) : idle.splice(best, 1)[0]!;
      if (best >= 0) idleBytes -= buffer.byteLength;
      lent.add(buffer);
      return Buffer.from(buffer, 0, bytes);
    },
    give(...views) {
      for (const view of views) {
        const buffer = view?.buffer;
        if (!(buffer instanceof ArrayBuffer) || !lent.has(buffer)) continue;
        lent.delete(buffer);
        if (buffer.byteLength > maxIdleBytes) continue;
        idle.push(buffer);
        idleBytes += buffer.byteLength;
        while (idleBytes > maxIdleBytes) idleBytes -= idle.shift()!.byteLength;
      }
    },
  };
}

/**
 * The process's pool of image-sized buffers: masks, cutouts, PNG rows. 48 MiB idle holds one
 * 2000² image's mask and cutout twice over (a worker has two images past the model at most).
 */
export const imageBuffers: BufferPool = createBufferPool(48 * 1024 * 1024);
