/**
 * Session risk, 0–100, with the reasons behind it, so the worst session of the day sorts first.
 *
 * Each finding is a chance the session is malicious (its severity weight); chances combine as
 * 1 − Π(1 − w), which gives diminishing returns and never passes 100. Several rule sets seeing the
 * same event (our rule, Sigma, CloudGrappler) count once, at the highest weight. Breadth across
 * ATT&CK tactics, offensive-tool user agents and root use add their own factors. Deterministic.
 */
import type { Finding, SessionRisk, Severity } from '../model.ts';
import type { SessionContext } from '../stages.ts';

export const SEVERITY_WEIGHT: Record<Severity, number> = {
  info: 0.01,
  low: 0.05,
  medium: 0.15,
  high: 0.35,
  critical: 0.6,
};
const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Findings of these rules mean an offensive tool's user agent was seen. */
export const OFFENSIVE_TOOL_RULES = new Set(['cartographer.offensive-tool-user-agent']);

export function scoreSession(session: SessionContext, findings: readonly Finding[]): SessionRisk {
  if (findings.length === 0) return { score: 0, reasons: [] };
  // One entry per piece of evidence (first event), keeping the most severe finding on it.
  const byEvidence = new Map<string, { best: Finding; also: number }>();
  for (const f of findings) {
    const key = f.eventIds[0] ?? f.id;
    const cur = byEvidence.get(key);
    if (!cur) byEvidence.set(key, { best: f, also: 0 });
    else {
      cur.also++;
      if (isWorse(f, cur.best)) cur.best = f;
    }
  }
  const items = [...byEvidence.values()].sort((a, b) =>
    isWorse(a.best, b.best) ? -1 : isWorse(b.best, a.best) ? 1 : 0,
  );

  const reasons: string[] = [];
  let safe = 1;
  const add = (w: number, text: string) => {
    const before = 1 - safe;
    safe *= 1 - w;
    const gained = Math.round(100 * (1 - safe)) - Math.round(100 * before);
    if (gained > 0) reasons.push(`+${gained} ${text}`);
  };
  for (const { best, also } of items) {
    add(
      SEVERITY_WEIGHT[best.severity],
      `${best.severity}: ${best.title}${also ? ` (also flagged by ${also} more rule${also > 1 ? 's' : ''})` : ''}`,
    );
  }
  const tactics = new Set(
    findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium).flatMap((f) => f.tactics),
  );
  if (tactics.size >= 3)
    add(0.25, `activity across ${tactics.size} ATT&CK tactics (${[...tactics].sort().join(', ')})`);
  else if (tactics.size === 2)
    add(0.08, `activity across 2 ATT&CK tactics (${[...tactics].sort().join(', ')})`);
  if (findings.some((f) => OFFENSIVE_TOOL_RULES.has(f.ruleId))) add(0.2, 'offensive tool user agent');
  if (session.principal.type === 'Root') add(0.15, 'root credentials');
  return { score: Math.min(100, Math.round(100 * (1 - safe))), reasons };
}

function isWorse(a: Finding, b: Finding): boolean {
  const d = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
  if (d !== 0) return d > 0;
  return a.time < b.time || (a.time === b.time && a.ruleId < b.ruleId);
}
