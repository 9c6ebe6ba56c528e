/** Loading an agent config from YAML text or a file. */
import { createRequire } from 'node:module';
import type { ConfigIssue } from './contracts.js';
import { ConfigError, errorMessage } from './errors.js';
import { type AgentConfig, type ConfigFactories, parseAgentConfig } from './parse-agent-config.js';
import { readConfigText } from './read-config-text.js';

/**
 * The most alias expansions a config may make (the `yaml` package's own default): anchors for a few
 * repeated blocks are fine, an alias bomb (aliases of aliases, exponential in size) is refused.
 */
export const MAX_CONFIG_ALIAS_COUNT = 100;

export interface LoadAgentConfigOptions extends ConfigFactories {
  /** the file the text came from (shown in errors, used for reloads) */
  readonly path?: string;
}

/**
 * The factories a config may select, or how to get them from the config document (the YAML parsed,
 * not yet validated): e.g. an application that loads only the parts a config selects.
 */
export type ConfigFactoriesFor = ConfigFactories | ((document: unknown) => Promise<ConfigFactories>);

/**
 * The `yaml` package, loaded when a config is first parsed: every plugin thread imports this
 * package, and loading yaml's 72 modules there cost ~30-40 ms of each thread's start for nothing.
 */
let yamlPackage: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlPackage ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/** Parses and validates YAML text; throws a ConfigError naming every problem. */
export function loadAgentConfig(yamlText: string, options: LoadAgentConfigOptions): AgentConfig {
  return parseAgentConfig(parseConfigYaml(yamlText, options.path), options);
}

/** The document of YAML config text (`{}` when empty); throws a ConfigError for invalid YAML. */
export function parseConfigYaml(yamlText: string, path?: string): unknown {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      const pos = e.pos ? lineCounter.linePos(e.pos[0]) : undefined;
      const where = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
      return { path: [], message: `invalid YAML: ${where}${e.message.split('\n')[0]}` };
    });
    throw new ConfigError(issues, path);
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIAS_COUNT });
  } catch (err) {
    // the yaml package throws a ReferenceError for too many alias expansions
    const message = /alias/i.test(errorMessage(err))
      ? `invalid YAML: too many alias expansions (at most ${MAX_CONFIG_ALIAS_COUNT}; an alias of aliases grows exponentially)`
      : `invalid YAML: ${errorMessage(err)}`;
    throw new ConfigError([{ path: [], message }], path, { cause: err });
  }
  return input ?? {};
}

/**
 * Reads and validates a config file (a regular file of at most MAX_CONFIG_BYTES, see
 * read-config-text.ts); an unreadable, non-regular or too large file is a ConfigError too.
 */
export async function readAgentConfigFile(path: string, factories: ConfigFactoriesFor): Promise<AgentConfig> {
  const document = parseConfigYaml(await readConfigText(path), path);
  const known = typeof factories === 'function' ? await factories(document) : factories;
  return parseAgentConfig(document, { ...known, path });
}
