/** Renders the agent's `/v1/status` answer as readable tables. */
import type { AgentStatusReport, PluginReport } from '@bpfsteer/agent-kernel';
import { formatTable } from './format-table.js';

function attachments(p: PluginReport): string {
  return p.attachments.map((a) => `${a.target} (${a.type})`).join(', ') || '-';
}

function maps(p: PluginReport): string {
  return p.maps.map((m) => `${m.name} ${m.entries}/${m.maxEntries}`).join(', ') || '-';
}

function lastApply(p: PluginReport): string {
  const a = p.lastApply;
  if (!a) return '-';
  const when = a.at.slice(11, 19);
  if (!a.ok) return `rejected ${when}`;
  const r = a.report;
  return r ? `+${r.added} ~${r.updated} -${r.removed} ${when}` : `ok ${when}`;
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
  ]);

  const sources = report.sources.length
    ? formatTable(
        ['SOURCE', 'STATE', 'INTENTS', 'LAST SNAPSHOT'],
        report.sources.map((s) => [s.name, s.state, String(s.intents), s.lastPublishAt ?? '-']),
      )
    : 'no sources configured';
  const sourceProblems = report.sources.filter((s) => s.error).map((s) => `  ${s.name}: ${s.error}`);

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
