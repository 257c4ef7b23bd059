/**
 * Calendar days in an IANA time zone: the digest covers one local day, which is 23 or 25 hours
 * long on daylight-saving changes, so day bounds are computed, never "midnight + 24 h".
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` of an instant in a time zone. */
export function dayOf(ms: number, timeZone: string): string {
  return formatter(timeZone).format(new Date(ms));
}

/** UTC instants of local 00:00 on `date` and on the next day: [start, end). */
export function dayBounds(date: string, timeZone: string): { start: number; end: number } {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`'${date}' is not a date like 2026-11-21`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
    throw new RangeError(`'${date}' is not a calendar date`);
  }
  return { start: localMidnight(y, mo, d, timeZone), end: localMidnight(y, mo, d + 1, timeZone) };
}

/** The day before `date` (plain calendar arithmetic). */
export function previousDay(date: string, days = 1): string {
  const t = Date.parse(`${date}T00:00:00Z`) - days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

function localMidnight(y: number, mo: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, mo - 1, d);
  // Two passes: the offset at the guess, then the offset at the corrected instant (DST edges).
  let t = guess - offsetMs(guess, timeZone);
  t = guess - offsetMs(t, timeZone);
  return t;
}

/** Local time minus UTC at an instant, in ms (e.g. +3,600,000 for Berlin in winter). */
export function offsetMs(ms: number, timeZone: string): number {
  const parts = partsFormatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour') % 24,
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

const partFormatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partFormatters.set(timeZone, f);
  }
  return f;
}
