/** Times as signals print them. */

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
