/** A writable stream that keeps what is written to it, for the CLI's stdout and stderr in-process. */
import { Writable } from 'node:stream';

export function textSink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}
