/** Renders the agent's `/v1/status` answer as readable tables. */
import type { AgentStatusReport, PluginReport } from '@bpfsteer/agent-kernel';
import { formatTable } from './format-table.js';

function attachments(p: PluginReport): string {
  return p.attachments.map((a) => `${a.target} (${a.type})`).join(', ') || '-';
}

function maps(p: PluginReport): string {
  return p.maps.map((m) => `${m.name} ${m.entries}/${m.maxEntries}`).join(', ') || '-';
}

type PluginRow = AgentStatusReport['plugins'][number];

function lastApply(p: PluginRow): string {
  const a = p.lastApply;
  if (!a) return p.heldBy?.length ? 'held' : '-';
  const when = a.at.slice(11, 19);
  if (!a.ok) return `rejected ${when}`;
  const r = a.report;
  return r ? `+${r.added} ~${r.updated} -${r.removed} ${when}` : `ok ${when}`;
}

function heldBy(sources: NonNullable<PluginRow['heldBy']>): string {
  const failed = sources.filter((s) => s.state === 'failed').map((s) => s.source);
  const waiting = sources.filter((s) => s.state !== 'failed').map((s) => s.source);
  return [
    ...(waiting.length ? [`applies nothing until ${waiting.join(', ')} published (keeps its pinned state)`] : []),
    ...(failed.length ? [`applies nothing: ${failed.join(', ')} failed before publishing (keeps its pinned state until a restart)`] : []),
  ].join('; ');
}

export function formatStatus(report: AgentStatusReport): string {
  const { agent } = report;
  const head = [
    `agent pid ${agent.pid} ${agent.state}`,
    agent.startedAt ? `since ${agent.startedAt}` : undefined,
    agent.configPath ? `config ${agent.configPath}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');

  const plugins = report.plugins.length
    ? formatTable(
        ['PLUGIN', 'STATE', 'ATTACHMENTS', 'MAPS (entries/max)', 'LAST APPLY'],
        report.plugins.map((p) => [p.id, p.state, attachments(p), maps(p), lastApply(p)]),
      )
    : 'no plugins configured';
  const problems = report.plugins.flatMap((p) => [
    ...(p.error ? [`  ${p.id}: ${p.error}`] : []),
    ...(p.statusError ? [`  ${p.id}: status: ${p.statusError}`] : []),
    ...(p.lastApply && !p.lastApply.ok ? [`  ${p.id}: last apply: ${p.lastApply.error ?? 'failed'}`] : []),
    ...(p.heldBy?.length ? [`  ${p.id}: ${heldBy(p.heldBy)}`] : []),
    ...(p.partial ? [`  ${p.id}: ${p.partial}`] : []),
    ...(p.statusAt ? [`  ${p.id}: busy applying; maps and attachments as of ${p.statusAt}`] : []),
  ]);

  const sources = report.sources.length
    ? formatTable(
        ['SOURCE', 'STATE', 'INTENTS', 'LAST SNAPSHOT'],
        report.sources.map((s) => [s.name, s.state, String(s.intents), s.lastPublishAt ?? '-']),
      )
    : 'no sources configured';
  const sourceProblems = report.sources.flatMap((s) => [
    ...(s.error ? [`  ${s.name}: ${s.error}`] : []),
    ...(s.problems ?? []).map((p) => `  ${s.name}: ${p.problem} since ${p.since}: ${p.message}`),
  ]);

  return [
    head,
    '',
    plugins,
    ...(problems.length ? ['', 'problems:', ...problems] : []),
    '',
    sources,
    ...(sourceProblems.length ? ['', 'source problems:', ...sourceProblems] : []),
    '',
  ].join('\n');
}
