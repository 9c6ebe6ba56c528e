/**
 * The body of the answer to POST /v1/diverter, as the native client reads it
 * (native/bpfsteer-diverter.c): frames `o <n>\n` followed by n bytes for its stdout, `e <n>\n`
 * followed by n bytes for its stderr, and last `x <code>\n`, its exit status, or `k 0\n`: keep
 * the call (the agent cannot apply it now: no running plugin, a failed apply; the client keeps it
 * in the spool and exits 0, and the agent applies it when it can). Lengths count bytes (UTF-8).
 * Nothing follows the last frame.
 */

export const FRAMES_CONTENT_TYPE = 'application/x-bpfsteer-diverter-frames';

function dataFrame(tag: 'o' | 'e', text: string): Buffer {
  const data = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${tag} ${data.length}\n`, 'latin1'), data]);
}

/** `text` for the client's stdout. */
export function stdoutFrame(text: string): Buffer {
  return dataFrame('o', text);
}

/** `text` for the client's stderr. */
export function stderrFrame(text: string): Buffer {
  return dataFrame('e', text);
}

/** The client's exit status: the last frame. */
export function exitFrame(code: number): Buffer {
  return Buffer.from(`x ${code}\n`, 'latin1');
}

/** Instead of the exit status: the client keeps the call in the spool (a change the agent cannot apply now). */
export function keepFrame(): Buffer {
  return Buffer.from('k 0\n', 'latin1');
}
