/**
 * Runs one parsed diverter request against the ziti source and prints the outcome: the one
 * executor of both ways in, the `bpfsteer-diverter` CLI of this package (over HTTP, run-diverter.ts)
 * and the native client's calls the agent runs itself (POST /v1/diverter, forwarded-call.ts).
 */
import { formatEvent, formatInterfaceTable, formatRuleTable, ruleRow, type InterfaceListBody, type RuleListBody } from './format-output.js';
import type { DiverterRequest } from './parse-diverter-args.js';

export const EXIT_OK = 0;
export const EXIT_AGENT = 1;
export const EXIT_USAGE = 2;

/** The agent refused a request: its message, and the HTTP status and API error code when there are. */
export class DiverterRefusedError extends Error {
  constructor(
    message: string,
    readonly status = 0,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DiverterRefusedError';
  }

  /** Whether the same request may succeed later unchanged: no running plugin (503), or the plugin failed to apply it (ERR_APPLY_FAILED). */
  get transient(): boolean {
    return this.status === 503 || this.code === 'ERR_APPLY_FAILED';
  }
}

/** The refusal of an answer with status >= 400: the message of its API error body, or one naming the status. */
export function refusal(status: number, body: unknown): DiverterRefusedError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  if (error && typeof error.message === 'string') return new DiverterRefusedError(code ? `${error.message} (${code})` : error.message, status, code);
  return new DiverterRefusedError(`the agent answered HTTP ${status}`, status, code);
}

/** How requests reach the ziti source's API. */
export interface DiverterCalls {
  /** the answer's body; DiverterRefusedError for a status >= 400 */
  call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown>;
  /**
   * The event stream's NDJSON lines to `onLine` until it ends: 'agent' when the agent ended it,
   * 'client' when `signal` aborted.
   */
  events(onLine: (line: string) => void, signal: AbortSignal): Promise<'agent' | 'client'>;
}

export interface DiverterOutput {
  readonly stdout: { write(text: string): unknown };
  /** aborts -M */
  readonly signal?: AbortSignal;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs `request` (not help or version: each way in answers those itself); resolves to the exit status. */
export async function executeRequest(
  request: Exclude<DiverterRequest, { command: 'help' | 'version' }>,
  calls: DiverterCalls,
  io: DiverterOutput,
): Promise<number> {
  const out = (text: string): void => void io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  switch (request.command) {
    case 'insert': {
      const result = (await calls.call('POST', '/v1/rules', request.body)) as { outcome: string; rule: Parameters<typeof ruleRow>[0] };
      out(`rule ${result.outcome}: ${ruleRow(result.rule)}`);
      return EXIT_OK;
    }
    case 'delete': {
      const result = (await calls.call('POST', '/v1/rules/delete', request.body)) as {
        removed: Parameters<typeof ruleRow>[0][];
        narrowed: Parameters<typeof ruleRow>[0][];
      };
      for (const r of result.removed) out(`rule removed: ${ruleRow(r)}`);
      for (const r of result.narrowed) out(`rule narrowed: ${ruleRow(r)}`);
      return EXIT_OK;
    }
    case 'list': {
      const list = (await calls.call('GET', `/v1/rules?filter=${request.filter}`)) as RuleListBody;
      out(request.json ? JSON.stringify(list, null, 2) : formatRuleTable(list));
      return EXIT_OK;
    }
    case 'list-interfaces': {
      const list = (await calls.call('GET', '/v1/interfaces')) as InterfaceListBody;
      out(request.json ? JSON.stringify(list, null, 2) : formatInterfaceTable(list));
      return EXIT_OK;
    }
    case 'flush': {
      const result = (await calls.call('POST', '/v1/rules/flush')) as { removed: number };
      out(`flushed: ${plural(result.removed, 'rule')} removed`);
      return EXIT_OK;
    }
    case 'set-interface': {
      const result = (await calls.call('PUT', `/v1/interfaces/${encodeURIComponent(request.name)}`, request.settings)) as {
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
      const ended = await calls.events((line) => {
        if (request.json) return out(line);
        try {
          out(formatEvent(JSON.parse(line)));
        } catch {
          out(line);
        }
      }, controller.signal);
      if (ended === 'agent') throw new DiverterRefusedError('the agent closed the event stream');
      return EXIT_OK;
    }
  }
}
