/** The diverter's readable output: the rule table (zfw-like rows), interfaces, events. Pure. */
import type { z } from 'zod';
import type { interfaceListSchema, ruleListSchema } from '../api/schemas.js';

export type RuleListBody = z.output<typeof ruleListSchema>;
export type ListedRuleBody = RuleListBody['rules'][number];
export type InterfaceListBody = z.output<typeof interfaceListSchema>;

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

const targets = { divert: 'TPROXY', pass: 'PASSTHRU', deny: 'DENY' } as const;

/** e.g. "dpts=22:22 TPROXY redirect 127.0.0.1:33381" */
export function ruleMapping(rule: ListedRuleBody | Omit<ListedRuleBody, 'id' | 'packets' | 'bytes'>): string {
  const dpts = `dpts=${rule.ports.low}:${rule.ports.high}`;
  if (rule.action === 'divert') {
    const local = rule.destination.includes(':') ? `[::1]:${rule.tproxyPort}` : `127.0.0.1:${rule.tproxyPort}`;
    return `${dpts} TPROXY redirect ${local}`;
  }
  if (rule.action === 'pass') return `${dpts} PASSTHRU to ${rule.destination}`;
  return `${dpts} DROP`;
}

/** One zfw-style row: "TPROXY tcp 0.0.0.0/0 10.0.0.16/28 dpts=22:22 TPROXY redirect 127.0.0.1:33381 [ens33,lo]". */
export function ruleRow(rule: Omit<ListedRuleBody, 'id' | 'packets' | 'bytes'>): string {
  return `${targets[rule.action]} ${rule.protocol} ${rule.source} ${rule.destination} ${ruleMapping(rule)} [${rule.interfaces.join(',')}]`;
}

const count = (n: number | null): string => (n === null ? '-' : String(n));

export function formatRuleTable(list: RuleListBody): string {
  const header = ['target', 'proto', 'origin', 'destination', 'mapping', 'interfaces', 'packets', 'bytes', 'service'];
  const rows = list.rules.map((r) => [
    targets[r.action],
    r.protocol,
    r.source,
    r.destination,
    ruleMapping(r),
    `[${r.interfaces.join(',')}]`,
    count(r.packets),
    count(r.bytes),
    r.service ?? '',
  ]);
  const lines = table([header, ...rows]);
  lines.push(`Rule Count: ${list.count} / ${list.capacity ?? '?'}`);
  const problems = list.rules.filter((r) => r.problem !== undefined);
  if (problems.length > 0) {
    lines.push(`${problems.length} rule${problems.length === 1 ? '' : 's'} divert${problems.length === 1 ? 's' : ''} nothing now:`);
    for (const r of problems) lines.push(`  ${r.protocol} ${r.source} ${r.destination} dpts=${r.ports.low}:${r.ports.high}: ${r.problem}`);
  }
  if (!list.counters) lines.push('(no counters: the tproxy plugin did not report; the rules are shown as stored)');
  return `${lines.join('\n')}\n`;
}

const onOff = (b: boolean | undefined): string => (b === undefined ? '-' : b ? 'on' : 'off');

export function formatInterfaceTable(list: InterfaceListBody): string {
  const header = ['interface', 'ifindex', 'attachment', 'ssh', 'echo', 'ipv6', 'drop-events', 'divert-events', 'passed', 'diverted', 'dropped', 'events-lost'];
  const rows = list.interfaces.map(({ name, settings, live }) => [
    name,
    live ? String(live.ifindex) : '-',
    live?.attachment ?? '(not attached)',
    onOff(live?.ssh ?? settings.ssh),
    onOff(live?.echo ?? settings.echo),
    onOff(live?.ipv6 ?? settings.ipv6),
    onOff(live?.events.drops ?? settings.events?.drops),
    onOff(live?.events.diverts ?? settings.events?.diverts),
    live ? String(live.passed) : '-',
    live ? String(live.diverted) : '-',
    live ? String(live.dropped) : '-',
    live ? String(live.eventsLost) : '-',
  ]);
  return `${table([header, ...rows]).join('\n')}\n`;
}

/** One line per event, e.g. "2024-01-01T00:00:00.000Z eth0 divert rule tcp 10.0.0.1:5000 -> 10.0.0.16:22 rule=3 tproxy=33381". */
export function formatEvent(event: unknown): string {
  if (typeof event !== 'object' || event === null) return JSON.stringify(event);
  const e = event as Record<string, unknown>;
  if (typeof e.lost === 'number' && Object.keys(e).length === 1) return `(${e.lost} events lost: the monitor reads too slowly)`;
  const known = ['time', 'interface', 'kind', 'reason', 'protocol', 'source', 'destination'].every((k) => e[k] !== undefined);
  if (!known) return JSON.stringify(event);
  const extra = [
    e.ruleId !== undefined ? ` rule=${String(e.ruleId)}` : '',
    e.tproxyPort !== undefined ? ` tproxy=${String(e.tproxyPort)}` : '',
  ].join('');
  return `${String(e.time)} ${String(e.interface)} ${String(e.kind)} ${String(e.reason)} ${String(e.protocol)} ${String(e.source)} -> ${String(e.destination)}${extra}`;
}
