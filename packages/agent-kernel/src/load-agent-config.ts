/** Loading an agent config from YAML text or a file. */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigIssue } from './contracts.js';
import { ConfigError, errorMessage } from './errors.js';
import { type AgentConfig, type ConfigFactories, parseAgentConfig } from './parse-agent-config.js';

export interface LoadAgentConfigOptions extends ConfigFactories {
  /** the file the text came from (shown in errors, used for reloads) */
  readonly path?: string;
}

/** Parses and validates YAML text; throws a ConfigError naming every problem. */
export function loadAgentConfig(yamlText: string, options: LoadAgentConfigOptions): AgentConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      const pos = e.pos ? lineCounter.linePos(e.pos[0]) : undefined;
      const where = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
      return { path: [], message: `invalid YAML: ${where}${e.message.split('\n')[0]}` };
    });
    throw new ConfigError(issues, options.path);
  }
  return parseAgentConfig(doc.toJS() ?? {}, options);
}

/** Reads and validates a config file; an unreadable file is a ConfigError too. */
export async function readAgentConfigFile(path: string, factories: ConfigFactories): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: [], message: `cannot read the file: ${errorMessage(err)}` }], path);
  }
  return loadAgentConfig(text, { ...factories, path });
}
