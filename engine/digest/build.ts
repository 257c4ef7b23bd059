/**
 * The daily digest, from the day's session reports: sessions ranked by risk, finding counts by
 * severity and ATT&CK tactic, what is new against the baseline of recent days, and the top findings.
 * Pure: the caller reads the source and keeps the baseline.
 */
import { type Finding, SEVERITIES, type SessionSummary, type Severity } from '../model.ts';
import type { CloudTrailRecord } from '../record.ts';
import { FACT_KINDS, type FactKind, type FactSets, principalLabel } from './facts.ts';

export interface DigestSessionInput {
  summary: SessionSummary;
  facts: FactSets;
  /** The session's raw records, kept only when asked for (the bot's "Open session" needs them). */
  records?: Map<string, CloudTrailRecord>;
}

export interface DigestOptions {
  /** The local day the digest covers, `YYYY-MM-DD`. */
  date: string;
  timeZone: string;
  /** Everything seen on the baseline days before `date`. */
  baseline: FactSets;
  /** How many earlier days the baseline holds (0: no baseline yet, nothing is reported as new). */
  baselineDays: number;
  /** How many findings `topFindings` keeps (default 10). */
  topFindings?: number;
  /** Facts of the day known apart from the sessions' own (a store that grouped them), added to `observed`. */
  observed?: FactSets;
}

export interface DigestSession {
  key: string;
  principal: string;
  risk: number;
  findings: Finding[];
}

export type NewFacts = { baselineDays: number } & Record<FactKind, string[]>;

export interface TopFinding {
  finding: Finding;
  sessionKey: string;
  principal: string;
  risk: number;
}

export interface Digest {
  date: string;
  timeZone: string;
  /** Highest risk first. */
  sessions: DigestSession[];
  countsBySeverity: Record<Severity, number>;
  /** Findings per ATT&CK tactic (a finding counts once under each of its tactics), most first. */
  countsByTactic: Record<string, number>;
  new: NewFacts;
  topFindings: TopFinding[];
  totals: { sessions: number; events: number; findings: number; errors: number };
  /** What the day showed (to add to the baseline once the digest is posted). */
  observed: FactSets;
  /** Nothing above `info` and nothing new: the digest is one line. */
  quiet: boolean;
}

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) if (worst === undefined || RANK[f.severity] > RANK[worst]) worst = f.severity;
  return worst;
}

export function buildDigest(inputs: readonly DigestSessionInput[], options: DigestOptions): Digest {
  const ranked = [...inputs].sort((a, b) => compareSessions(a.summary, b.summary));
  const countsBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const tactics = new Map<string, number>();
  const observed = emptySets();
  if (options.observed) for (const k of FACT_KINDS) for (const v of options.observed[k]) observed[k].add(v);
  const totals = { sessions: inputs.length, events: 0, findings: 0, errors: 0 };
  const top: TopFinding[] = [];
  for (const { summary, facts } of ranked) {
    totals.events += summary.eventCount;
    totals.errors += summary.errorCount;
    for (const k of FACT_KINDS) for (const v of facts[k]) observed[k].add(v);
    for (const f of summary.findings) {
      totals.findings++;
      countsBySeverity[f.severity]++;
      for (const t of new Set(f.tactics)) tactics.set(t, (tactics.get(t) ?? 0) + 1);
      top.push({
        finding: f,
        sessionKey: summary.key,
        principal: principalLabel(summary),
        risk: summary.risk?.score ?? 0,
      });
    }
  }
  top.sort(
    (a, b) =>
      RANK[b.finding.severity] - RANK[a.finding.severity] ||
      b.risk - a.risk ||
      a.finding.time.localeCompare(b.finding.time) ||
      a.finding.id.localeCompare(b.finding.id),
  );
  const fresh = { baselineDays: options.baselineDays } as NewFacts;
  for (const k of FACT_KINDS) {
    fresh[k] =
      options.baselineDays > 0 ? [...observed[k]].filter((v) => !options.baseline[k].has(v)).sort() : [];
  }
  const anyNew = FACT_KINDS.some((k) => fresh[k].length > 0);
  const aboveInfo = SEVERITIES.some((s) => s !== 'info' && countsBySeverity[s] > 0);
  return {
    date: options.date,
    timeZone: options.timeZone,
    sessions: ranked.map(({ summary }) => ({
      key: summary.key,
      principal: principalLabel(summary),
      risk: summary.risk?.score ?? 0,
      findings: summary.findings,
    })),
    countsBySeverity,
    countsByTactic: Object.fromEntries([...tactics].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    new: fresh,
    topFindings: spreadAcrossSessions(distinctByRule(top), options.topFindings ?? 10),
    totals,
    observed,
    quiet: !aboveInfo && !anyNew,
  };
}

/** The digest's JSON contract (`cartographer digest --format json`): exactly these keys. */
export function digestJson(d: Digest) {
  return {
    date: d.date,
    sessions: d.sessions,
    countsBySeverity: d.countsBySeverity,
    countsByTactic: d.countsByTactic,
    new: d.new,
  };
}

/** Highest risk, then worst finding, then most findings, then busiest, then key (deterministic). */
function compareSessions(a: SessionSummary, b: SessionSummary): number {
  const wa = worstSeverity(a.findings);
  const wb = worstSeverity(b.findings);
  return (
    (b.risk?.score ?? 0) - (a.risk?.score ?? 0) ||
    (wb === undefined ? -1 : RANK[wb]) - (wa === undefined ? -1 : RANK[wa]) ||
    b.findings.length - a.findings.length ||
    b.eventCount - a.eventCount ||
    a.key.localeCompare(b.key)
  );
}

/** One line per rule and session: the same rule firing 30 times in one session is one top finding. */
function distinctByRule(top: TopFinding[]): TopFinding[] {
  const seen = new Set<string>();
  return top.filter((t) => {
    const k = `${t.sessionKey}\u0000${t.finding.ruleId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * At most 3 of the top findings from one session while others have findings to show: one noisy
 * session must not hide the second-worst actor of the day. Order stays worst first.
 */
function spreadAcrossSessions(top: TopFinding[], n: number, perSession = 3): TopFinding[] {
  const taken = new Map<string, number>();
  const first: TopFinding[] = [];
  const rest: TopFinding[] = [];
  for (const t of top) {
    const k = taken.get(t.sessionKey) ?? 0;
    if (k < perSession) {
      taken.set(t.sessionKey, k + 1);
      first.push(t);
    } else rest.push(t);
  }
  const picked = new Set([...first.slice(0, n), ...rest.slice(0, Math.max(0, n - first.length))]);
  return top.filter((t) => picked.has(t));
}

function emptySets(): FactSets {
  return Object.fromEntries(FACT_KINDS.map((k) => [k, new Set<string>()])) as unknown as FactSets;
}
