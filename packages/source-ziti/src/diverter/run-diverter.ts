/**
 * Runs one diverter invocation: parse, talk to the agent, print. Returns the exit status:
 * 0 done, 1 the agent refused or cannot be reached, 2 usage error.
 */
import { readFile, stat } from 'node:fs/promises';
import { packageInfo } from '../version.js';
import { AgentUnreachableError, agentLocation, agentRequest, agentStream, type AgentResponse, type ResolvedAgent } from './agent-client.js';
import { shortUsage, usageText } from './diverter-usage.js';
import { formatEvent, formatInterfaceTable, formatRuleTable, ruleRow, type InterfaceListBody, type RuleListBody } from './format-output.js';
import { parseDiverterArgs, type AgentAddress, type DiverterRequest, type InvokedAs } from './parse-diverter-args.js';

export const EXIT_OK = 0;
export const EXIT_AGENT = 1;
export const EXIT_USAGE = 2;

export interface DiverterIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** aborts -M (SIGINT) */
  readonly signal?: AbortSignal;
}

/** The error message of an API error body, or a fallback. */
function agentMessage(response: AgentResponse): string {
  const error = (response.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string') return typeof error.code === 'string' ? `${error.message} (${error.code})` : error.message;
  return `the agent answered HTTP ${response.status}`;
}

class AgentRefusedError extends Error {}

async function call(agent: ResolvedAgent, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
  const response = await agentRequest(agent, method, path, body);
  if (response.status >= 400) throw new AgentRefusedError(agentMessage(response));
  return response.body;
}

async function resolveAgent(address: AgentAddress): Promise<ResolvedAgent> {
  if (address.kind === 'socket') return { address };
  if (address.token !== undefined) return { address, token: address.token };
  const file = address.tokenFile!;
  const info = await stat(file);
  if (info.mode & 0o004) throw new AgentRefusedError(`token file ${file} is world-readable; run \`chmod o-rwx ${file}\``);
  return { address, token: (await readFile(file, 'utf8')).trim() };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function execute(request: DiverterRequest, agent: ResolvedAgent, io: DiverterIo): Promise<number> {
  const out = (text: string): void => void io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  switch (request.command) {
    case 'help':
      return EXIT_OK; // printed by the caller
    case 'version': {
      const response = await agentRequest(agent, 'GET', '/v1/version', undefined, 5000);
      const body = response.body as { name?: unknown; version?: unknown; api?: unknown } | undefined;
      if (response.status !== 200 || typeof body?.version !== 'string') {
        throw new AgentUnreachableError(agentLocation(agent.address), `/v1/version failed: ${agentMessage(response)}`);
      }
      out(`bpfsteer-diverter ${packageInfo().version} (agent ${String(body.name)} ${body.version}, API ${String(body.api)})`);
      return EXIT_OK;
    }
    case 'insert': {
      const result = (await call(agent, 'POST', '/v1/rules', request.body)) as { outcome: string; rule: Parameters<typeof ruleRow>[0] };
      out(`rule ${result.outcome}: ${ruleRow(result.rule)}`);
      return EXIT_OK;
    }
    case 'delete': {
      const result = (await call(agent, 'POST', '/v1/rules/delete', request.body)) as {
        removed: Parameters<typeof ruleRow>[0][];
        narrowed: Parameters<typeof ruleRow>[0][];
      };
      for (const r of result.removed) out(`rule removed: ${ruleRow(r)}`);
      for (const r of result.narrowed) out(`rule narrowed: ${ruleRow(r)}`);
      return EXIT_OK;
    }
    case 'list': {
      const list = (await call(agent, 'GET', `/v1/rules?filter=${request.filter}`)) as RuleListBody;
      out(request.json ? JSON.stringify(list, null, 2) : formatRuleTable(list));
      return EXIT_OK;
    }
    case 'list-interfaces': {
      const list = (await call(agent, 'GET', '/v1/interfaces')) as InterfaceListBody;
      out(request.json ? JSON.stringify(list, null, 2) : formatInterfaceTable(list));
      return EXIT_OK;
    }
    case 'flush': {
      const result = (await call(agent, 'POST', '/v1/rules/flush')) as { removed: number };
      out(`flushed: ${plural(result.removed, 'rule')} removed`);
      return EXIT_OK;
    }
    case 'set-interface': {
      const result = (await call(agent, 'PUT', `/v1/interfaces/${encodeURIComponent(request.name)}`, request.settings)) as {
        changed: boolean;
      };
      const what = request.settings.echo ? 'ICMP echo allowed' : 'SSH no longer allowed by default';
      out(`${request.name}: ${what}${result.changed ? '' : ' (already so)'}`);
      return EXIT_OK;
    }
    case 'monitor': {
      const controller = new AbortController();
      io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      if (io.signal?.aborted) controller.abort();
      const { ended } = await agentStream(
        agent,
        '/v1/events',
        (line) => {
          if (request.json) return out(line);
          try {
            out(formatEvent(JSON.parse(line)));
          } catch {
            out(line);
          }
        },
        controller.signal,
      );
      if (ended === 'agent') throw new AgentRefusedError('the agent closed the event stream');
      return EXIT_OK;
    }
  }
}

/** Runs the diverter with `argv` (after the program name) as `as`. */
export async function runDiverter(argv: readonly string[], as: InvokedAs, io: DiverterIo): Promise<number> {
  const parsed = parseDiverterArgs(argv, { invokedAs: as, env: io.env });
  if (!parsed.ok) {
    io.stderr.write(`${as}: ${parsed.error}\n${shortUsage(as)}\n`);
    return EXIT_USAGE;
  }
  if (parsed.request.command === 'help') {
    io.stdout.write(`${usageText(as)}\n`);
    return EXIT_OK;
  }
  try {
    const agent = await resolveAgent(parsed.agent);
    return await execute(parsed.request, agent, io);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${as}: ${message}\n`);
    return EXIT_AGENT;
  }
}
