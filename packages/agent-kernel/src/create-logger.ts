/** The agent's structured logger: pino, JSON lines to stderr, or a plain readable format. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './agent-settings.js';

export type LogFormat = 'json' | 'pretty';

export interface CreateLoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** where lines go; stderr by default */
  readonly destination?: { write(text: string): unknown };
}

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const hidden = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One JSON log line -> `12:00:00.123 INFO  [plugin=tc-nexthop] message key=value ...` */
export function formatLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : new Date(Number(rec.time)).toISOString().slice(11, 23);
  const level = typeof rec.level === 'number' ? (levelNames[rec.level] ?? String(rec.level)) : String(rec.level).toUpperCase();
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(rec)) {
    if (hidden.has(key)) continue;
    if (key === 'err' && value && typeof value === 'object') {
      const err = value as { message?: string; stack?: string };
      fields.push(`err=${JSON.stringify(err.message ?? '')}`);
      if (err.stack) stack = err.stack.split('\n').slice(1).map((l) => `\n    ${l.trim()}`).join('');
      continue;
    }
    fields.push(`${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`);
  }
  const tail = fields.length ? ` ${fields.join(' ')}` : '';
  return `${time} ${level.padEnd(5)} ${String(rec.msg ?? '')}${tail}${stack}\n`;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    base: { pid: process.pid },
  };
  const target = options.destination ?? pino.destination({ dest: 2, sync: true });
  if (options.format === 'pretty') {
    const pretty = {
      write(line: string): void {
        target.write(formatLogLine(line));
      },
    };
    return pino(settings, pretty);
  }
  return pino(settings, target);
}
