import type { Readable, Writable } from 'node:stream';

/**
 * Moves the bytes of `from` to `to` as `pipe` does (back-pressure; `from`'s end ends `to`, a
 * half-close), counting them with `count`, and writing what arrives in one turn of the event loop
 * as one write.
 *
 * Why not `pipe`: an HTTP/2 stream hands over each DATA frame (16 KiB, split in two where a frame
 * straddles TLS records) as its own chunk, and `pipe` writes each to the socket as its own
 * syscall: four to eight writes per 64 KiB read from the peer. Corking `to` until the turn ends
 * (setImmediate) makes them one writev. Measured on the two-node lab of bench/connect-tunnel, one
 * iperf3 stream: the receiving tunnel's system time per GB 750 -> 430 ms, throughput +15-20%.
 */
export function relay(from: Readable, to: Writable, count: (bytes: number) => void): void {
  let corked = false;
  let waiting = false;
  const flush = () => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  const resume = () => {
    waiting = false;
    from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    if (to.destroyed) return;
    if (!corked) {
      corked = true;
      to.cork();
      setImmediate(flush);
    }
    if (!to.write(chunk) && !waiting) {
      waiting = true;
      from.pause();
      to.once('drain', resume);
    }
  });
  from.once('end', () => {
    if (!to.destroyed) to.end(); // end() writes what is corked first
  });
}
