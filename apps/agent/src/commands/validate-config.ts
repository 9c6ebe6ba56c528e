/**
 * What `bpfsteer validate` does (commands/validate.ts declares the command and imports this when it
 * runs): reads the config with agent-kernel's light entry (`/config`: the config schemas, zod, yaml)
 * and validates it against the factories of the plugins and sources it selects, without a container.
 */
import { ConfigError, readAgentConfigFile } from '@bpfsteer/agent-kernel/config';
import { type CliContext, ExitCode } from '../cli-context.js';

/** Exit code 0 (`file: valid (...)` on stdout) when `file` is a valid config, 1 with every problem on stderr. */
export async function validateConfig(file: string, context: CliContext): Promise<number> {
  try {
    const config = await readAgentConfigFile(file, context.factoriesFor);
    const plugins = config.plugins.map((p) => p.id).join(', ') || 'none';
    const sources = config.sources.map((s) => s.name).join(', ') || 'none';
    context.stdout.write(`${file}: valid (plugins: ${plugins}; sources: ${sources})\n`);
    return ExitCode.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    context.stderr.write(`${err.message}\n`);
    return ExitCode.failure;
  }
}
