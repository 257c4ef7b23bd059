/**
 * `Date.parse` for CloudTrail's `eventTime`, cheaper on the hot path and with exactly its results.
 *
 * Every record's time is parsed twice (checked at ingest, then kept on the EngineEvent) and records of one
 * delivery file often share a second, so the last answer is remembered. CloudTrail always writes
 * `YYYY-MM-DDTHH:MM:SSZ`: that spelling is read from its character codes; anything else (other tools'
 * exports, fractions, offsets, out-of-range fields) goes to `Date.parse`.
 */
let lastText = '';
let lastMs = Number.NaN;

export function parseEventTime(text: string): number {
  if (text === lastText) return lastMs;
  const ms = text.length === 20 ? fixedFormat(text) : Number.NaN;
  lastText = text;
  lastMs = Number.isNaN(ms) ? Date.parse(text) : ms;
  return lastMs;
}

/** NaN unless `text` is exactly `YYYY-MM-DDTHH:MM:SSZ` with fields in range (then Date.parse agrees). */
function fixedFormat(t: string): number {
  if (
    t.charCodeAt(4) !== 45 || // -
    t.charCodeAt(7) !== 45 ||
    t.charCodeAt(10) !== 84 || // T
    t.charCodeAt(13) !== 58 || // :
    t.charCodeAt(16) !== 58 ||
    t.charCodeAt(19) !== 90 // Z
  )
    return Number.NaN;
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  // Years below 100 mean 19xx to Date.UTC; V8 rolls days 29–31 over exactly as Date.UTC does.
  // A non-digit reads as -1, which every range below excludes.
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** The decimal number in `t[start, start + count)`, or -1 when a character is not a digit. */
function digits(t: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

// Times as CloudTrail and the reports spell them.
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const DAY_MS = 86_400_000;
/** Year 10000: from there on `toISOString` writes six-digit years. */
const ISO_LIMIT = 253_402_300_800_000;
let isoDay = Number.NaN;
let isoDayText = '';

/**
 * `new Date(t).toISOString()` without `.000` for whole seconds (CloudTrail's spelling), the date part remembered
 * for the last day asked: two texts per signal otherwise cost a Date, its ISO text and a replace each.
 */
export function isoSecond(t: number): string {
  if (t % 1000 !== 0 || t < 0 || t >= ISO_LIMIT) return new Date(t).toISOString().replace('.000Z', 'Z');
  const seconds = (t % DAY_MS) / 1000;
  const day = t - seconds * 1000;
  if (day !== isoDay) {
    isoDayText = new Date(day).toISOString().slice(0, 11);
    isoDay = day;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${isoDayText}${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[seconds % 60]}Z`;
}
