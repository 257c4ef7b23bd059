/** Small text helpers shared by the message builders (Slack mrkdwn escaping, clipping, times). */

/** Slack mrkdwn treats `&`, `<`, `>` as control characters; data from CloudTrail must not inject links or mentions. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Code spans break on backticks; replace them so a crafted value cannot close the span. */
export function code(text: string): string {
  return `\`${esc(text).replace(/`/g, "'")}\``;
}

/**
 * Look-alikes for the characters that open or close mrkdwn emphasis and code (`*bold*`, `_italic_`,
 * `~strike~`, `` `code` ``). Slack has no backslash escape, so a title such as
 * `GetSecretValue.*exec-env*CloudShell` inside `*…*` would end the bold early and show stray asterisks.
 */
const EMPHASIS_LOOKALIKES: Record<string, string> = { '*': '∗', _: 'ˍ', '~': '∼', '`': 'ˋ' };

/**
 * Dynamic text made safe to sit inside `*…*` or `_…_`: escaped like `esc`, emphasis characters
 * swapped for look-alikes, and line breaks and outer spaces removed (either ends the emphasis).
 */
export function emphasisSafe(text: string): string {
  return esc(text)
    .replace(/[*_~`]/g, (c) => EMPHASIS_LOOKALIKES[c] ?? c)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** `*text*` for dynamic text, clipped to `max` characters first; empty text gives '' (not a stray `**`). */
export function bold(text: string, max = 200): string {
  const safe = emphasisSafe(clip(text.trim(), max));
  return safe ? `*${safe}*` : '';
}

/** A Slack user mention for an id from Slack's own payload; anything not shaped like an id is shown escaped. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : esc(userId);
}

/** Cuts text to `max` characters with an ellipsis, never splitting an `&amp;`-style entity. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  const amp = cut.lastIndexOf('&');
  if (amp >= 0 && amp > cut.length - 6 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}

/** `2026-11-21 23:01:02 UTC` */
export function utc(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `23:01:02` */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(11, 19);
}

/** `1 h 12 min`, `45 s` */
export function duration(startIso: string, endIso: string): string {
  const ms = new Date(endIso).getTime() - new Date(startIso).getTime();
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export const SEVERITY_ICON: Record<string, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  info: ':white_circle:',
};

export const SEVERITY_RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
