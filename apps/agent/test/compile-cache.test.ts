import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ownCacheDir } from '../src/compile-cache.js';

const root = mkdtempSync(join(tmpdir(), 'bpfsteer-cc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the compile cache directory', () => {
  it('is created under XDG_CACHE_HOME, private to its user', () => {
    const dir = ownCacheDir({ XDG_CACHE_HOME: join(root, 'a') }, process.getuid!());
    expect(dir).toBe(join(root, 'a', 'bpfsteer', 'compile-cache'));
    expect(statSync(dir!).mode & 0o777).toBe(0o700);
  });

  it('is refused when others may write to it or another user owns it', () => {
    const dir = join(root, 'b', 'bpfsteer', 'compile-cache');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    expect(ownCacheDir({ XDG_CACHE_HOME: join(root, 'b') }, process.getuid!())).toBeUndefined();
    chmodSync(dir, 0o700);
    expect(ownCacheDir({ XDG_CACHE_HOME: join(root, 'b') }, process.getuid!() + 1)).toBeUndefined();
    expect(ownCacheDir({ XDG_CACHE_HOME: join(root, 'b') }, process.getuid!())).toBe(dir);
  });
});
