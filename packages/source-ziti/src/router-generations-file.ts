/**
 * The router generations (router-generations.ts) as saved next to the state file
 * (`<stateFile>.router`): the router's -V (its process and when), the last -V that inserted
 * nothing yet, and who inserted each service's wish. Written whole (a temp file renamed over it:
 * a crash leaves the old or the new one); a file that cannot be read or does not match is ignored
 * with a warning (then every saved wish counts as made by a router that exited, as without it).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { errorMessage } from './errors.js';
import { removeStaleTempFiles, tempFilePath } from './remove-stale-temp-files.js';

const caller = { pid: z.number().int().min(1), start: z.number().int().min(0) };
const generation = z.strictObject({ ...caller, since: z.number().int().min(0) });

export const generationsSnapshotSchema = z.strictObject({
  version: z.literal(1),
  /** the router now (it ran -V, when, and inserted since) */
  router: generation.optional(),
  /** the caller of the last -V that did not insert yet */
  candidate: generation.optional(),
  /** "<rule key>\n<service>", pid, start */
  insertedBy: z.array(z.tuple([z.string(), caller.pid, caller.start])),
});

export type GenerationsSnapshot = Omit<z.output<typeof generationsSnapshotSchema>, 'version' | 'insertedBy'> & {
  readonly insertedBy: readonly (readonly [string, number, number])[];
};

/** Where the generations of the source with `stateFile` are saved. */
export const generationsFile = (stateFile: string): string => `${stateFile}.router`;

/**
 * The saved generations; undefined when there is no file, or (with `warn` told why) one that cannot
 * be used. The temp files a killed writer left go first.
 */
export async function readGenerations(file: string, warn: (why: string) => void): Promise<GenerationsSnapshot | undefined> {
  await removeStaleTempFiles(file).catch(() => undefined);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${file}: ${errorMessage(err)}`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    warn(`${file} is not JSON: ${errorMessage(err)}`);
    return undefined;
  }
  const parsed = generationsSnapshotSchema.safeParse(value);
  if (!parsed.success) {
    warn(`${file} does not hold router generations: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return undefined;
  }
  const { version: _version, ...snapshot } = parsed.data;
  return snapshot;
}

/** Writes `snapshot` to `file` (a temp file renamed over it). */
export async function writeGenerations(file: string, snapshot: GenerationsSnapshot): Promise<void> {
  const temp = tempFilePath(file);
  await writeFile(temp, JSON.stringify({ version: 1, ...snapshot }), { mode: 0o600 });
  await rename(temp, file);
}
