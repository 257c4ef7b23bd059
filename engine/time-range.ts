/**
 * The one time grammar for `--since` / `--until`, on the command line and in Slack: a positive duration before
 * now (`30m`, `24h`, `7d`, `2w`, `1.5h`) or an ISO 8601 date or time (`2023-07-10`, `2023-07-10T12:00:00Z`).
 */
const RELATIVE = /^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$/i;
const UNIT_MS: Record<string, number> = {
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** The time `text` stands for, relative to `now`; undefined when it is neither a duration nor an ISO time. */
export function parseTimeText(text: string, now: Date = new Date()): Date | undefined {
  const value = text.trim();
  const rel = RELATIVE.exec(value);
  if (rel) {
    const amount = Number(rel[1]);
    const at = now.getTime() - amount * UNIT_MS[rel[2]!.toLowerCase()]!;
    return amount > 0 && Number.isFinite(at) ? new Date(at) : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return new Date(t);
  }
  return undefined;
}
