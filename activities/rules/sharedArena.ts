/**
 * Recycles the large shared buffers of the rule engine. V8 frees a SharedArrayBuffer only when a GC happens to
 * collect it, and a 12 MP item needs ~100 MB of them: without reuse a worker's RSS grows by that much per item until
 * a collection (measured: +440 MB after 8 items). Buffers come back after each item and are handed out again.
 */
import { sharedBytes, zeroFill } from './kernelPool';

/** A free list of shared byte buffers by exact length, holding at most `maxBytes` in total. */
export class SharedArena {
  private readonly free = new Map<number, Uint8Array[]>();
  private held = 0;

  constructor(readonly maxBytes: number = 512 * 2 ** 20) {}

  /** A shared buffer of `length` bytes; zeroed when `zero` (a recycled one holds old data otherwise). */
  take(length: number, zero = false): Uint8Array {
    const list = this.free.get(length);
    const buf = list?.pop();
    if (!buf) return sharedBytes(length);
    this.held -= length;
    if (zero) zeroFill(buf);
    return buf;
  }

  /** Returns buffers for reuse; beyond the cap the oldest sizes are dropped and left to the GC. */
  give(...bufs: (Uint8Array | null | undefined)[]): void {
    for (const buf of bufs) {
      if (!buf || !(buf.buffer instanceof SharedArrayBuffer) || buf.byteOffset !== 0 || buf.length !== buf.buffer.byteLength) continue;
      const list = this.free.get(buf.length) ?? [];
      if (list.includes(buf)) continue;
      list.push(buf);
      this.free.set(buf.length, list);
      this.held += buf.length;
    }
    for (const [length, list] of this.free) {
      if (this.held <= this.maxBytes) break;
      this.held -= length * list.length;
      this.free.delete(length);
    }
  }
}
