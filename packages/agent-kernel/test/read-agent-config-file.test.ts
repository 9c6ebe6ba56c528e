import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { loadAgentConfig, readAgentConfigFile } from '../src/load-agent-config.js';
import { MAX_CONFIG_BYTES, readConfigText } from '../src/read-config-text.js';
import { staticSource } from '../src/static-source.js';

const factories = { plugins: [], sources: [staticSource] };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-config-file-test-${process.pid}-`));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(path: string): Promise<string> {
  const err = await readAgentConfigFile(path, factories).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).message;
}

describe('readAgentConfigFile guards', () => {
  it('reads a regular file, also through a symlink', async () => {
    const path = join(dir, 'good.yaml');
    await writeFile(path, 'sources: [{ type: static }]\n');
    await symlink(path, join(dir, 'link.yaml'));
    expect((await readAgentConfigFile(join(dir, 'link.yaml'), factories)).sources).toHaveLength(1);
  });

  it('refuses a FIFO at once instead of blocking on it', async () => {
    const path = join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const began = Date.now();
    expect(await refusal(path)).toBe(`invalid config ${path}:\n  cannot read the file: it is a FIFO (named pipe), not a regular file`);
    expect(Date.now() - began).toBeLessThan(2000);
  }, 5000);

  it('refuses a symlink to /dev/zero without reading it', async () => {
    const path = join(dir, 'zero.yaml');
    await symlink('/dev/zero', path);
    expect(await refusal(path)).toBe(`invalid config ${path}:\n  cannot read the file: it is a character device, not a regular file`);
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'conf.d');
    await mkdir(path);
    expect(await refusal(path)).toBe(`invalid config ${path}:\n  cannot read the file: it is a directory, not a regular file`);
  });

  it('refuses a file above the limit (16 MiB) by its size', async () => {
    const path = join(dir, 'huge.yaml');
    await writeFile(path, '');
    await truncate(path, MAX_CONFIG_BYTES + 1); // sparse: costs no disk
    expect(MAX_CONFIG_BYTES).toBe(16 * 1024 * 1024);
    expect(await refusal(path)).toBe(
      `invalid config ${path}:\n  the file is too large (${MAX_CONFIG_BYTES + 1} bytes); a config file may have at most 16 MiB (16777216 bytes)`,
    );
  });

  it('reads at most limit + 1 bytes of a file that says it is smaller than it is', async () => {
    // procfs files report size 0 and hold more
    const err = await readConfigText('/proc/self/maps', 64).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      'invalid config /proc/self/maps:\n  the file is too large (more than 64 bytes); a config file may have at most 64 bytes',
    );
  });

  it('names a missing file', async () => {
    const path = join(dir, 'none.yaml');
    expect(await refusal(path)).toMatch(/cannot read the file: ENOENT: no such file or directory/);
  });
});

describe('loadAgentConfig alias expansion', () => {
  it('refuses an alias bomb with a ConfigError', () => {
    let text = 'x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n';
    for (let i = 1; i <= 9; i++) text += `x${i}: &x${i} [${Array(10).fill(`*x${i - 1}`).join(', ')}]\n`;
    const err = (() => {
      try {
        return loadAgentConfig(text, { ...factories, path: '/etc/bomb.yaml' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      'invalid config /etc/bomb.yaml:\n  invalid YAML: too many alias expansions (at most 100; an alias of aliases grows exponentially)',
    );
  });

  it('accepts a few aliases', () => {
    const text = 'agent: &a { logLevel: debug }\nsources: [{ type: static, intents: [] }]\n';
    expect(loadAgentConfig(text, factories).agent.logLevel).toBe('debug');
  });
});
