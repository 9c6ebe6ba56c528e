import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileReadError, readRegularFile, readRegularFilePieces } from '../src/read-regular-file.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfsteer-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readRegularFile', () => {
  it('decodes a large file in pieces without breaking characters across them', async () => {
    // 3-byte and 4-byte characters, shifted so that pieces of 1 MiB cut through them
    const text = `x${'€🙂ä'.repeat(400_000)}end`;
    const path = join(dir, 'large.txt');
    writeFileSync(path, text);
    expect(await readRegularFile(path)).toBe(text);
    const pieces = await readRegularFilePieces(path);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(piece).not.toContain('\uFFFD'); // no character cut in two
  });

  it('refuses a file over the limit, naming the problem', async () => {
    const path = join(dir, 'big.txt');
    writeFileSync(path, 'a'.repeat(100));
    await expect(readRegularFile(path, 64)).rejects.toMatchObject({ problem: 'too-large' });
    await expect(readRegularFile(join(dir, 'none'))).rejects.toBeInstanceOf(FileReadError);
  });
});
