/**
 * The sentences of programmatic summaries: a burst of reads of one service, a run of the same write,
 * the header of a deployment tool's run. Pure functions of the events and the compiled phrases.
 */
import type { LabelledEvent } from './labeller.ts';
import type { CallWords, Phrases, Tool } from './phrases.ts';

export interface Resources {
  names: string[];
  /** What one resource of this service is called (fallback.yaml resourceNouns), e.g. "bucket". */
  noun?: string;
}

export interface Sentence {
  name: string;
  summary: string;
}

/** "a", "a and b", "a, b and c", "a, b, c and 4 more". */
export function sayList(items: readonly string[], max = 5): string {
  if (items.length <= 1) return items[0] ?? '';
  if (items.length > max) return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// The helpers below take the members as they come (LabelledEvent lists) and walk them with plain loops:
// no per-sentence array of events, no map/filter/spread copies (each a new list and, in optimised code, a
// new hidden class for the code that reads it).

function regionsOf(phrases: Phrases, prefix: string, members: readonly LabelledEvent[]): string {
  if (phrases.isGlobal(prefix)) return '';
  const set = new Set<string>();
  for (const le of members) {
    const r = le.event.record.awsRegion;
    if (r) set.add(r);
  }
  if (set.size === 0) return '';
  const regions = [...set].sort();
  if (regions.length === 1) return ` in ${regions[0]}`;
  return ` in ${regions.length} regions (${sayList(regions, 3)})`;
}

function failures(members: readonly LabelledEvent[]): string {
  let codes: Map<string, number> | undefined;
  let failed = 0;
  for (const le of members) {
    const code = le.event.record.errorCode;
    if (!code) continue;
    codes ??= new Map();
    codes.set(code, (codes.get(code) ?? 0) + 1);
    failed++;
  }
  return codes === undefined ? '' : failureText(codes, failed, members.length);
}

/** The failure note once some call failed (kept apart: most sentences have none). */
function failureText(codes: Map<string, number>, failed: number, total: number): string {
  const which = [...codes].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
  return failed === total ? ` — failed (${which})` : ` — ${failed} of ${total} failed (${which})`;
}

/** "Listed EC2 instances, volumes and addresses in us-east-1", "Read the ACL and policy of 8 S3 buckets". */
export function readSentence(
  phrases: Phrases,
  prefix: string,
  members: readonly LabelledEvent[],
  res: Resources,
): Sentence {
  const service = phrases.service(prefix);
  const calls = new Map<string, number>();
  for (const le of members) calls.set(le.key, (calls.get(le.key) ?? 0) + 1);
  const words: CallWords[] = [];
  const nounSet = new Set<string>();
  for (const k of calls.keys()) {
    const w = phrases.call(k);
    words.push(w);
    nounSet.add(w.noun);
  }
  const nouns = [...nounSet];
  const where = regionsOf(phrases, prefix, members);
  const enumerated = calls.size >= phrases.enumerateAt;
  const own = words[0]!.verb;
  const sameVerb = words.every((w) => w.verb === own);
  const verb = enumerated ? 'Enumerated' : sameVerb ? own : words.every((w) => w.listing) ? 'Listed' : 'Read';
  const of =
    res.names.length === 1
      ? ` (${res.noun ? `${res.noun} ` : ''}${res.names[0]})`
      : res.noun && res.names.length > 1
        ? ` of ${plural(res.names.length, res.noun)}`
        : '';
  const lead = res.noun ? `${res.noun} ` : '';
  let what: string;
  if (lead && res.names.length > 1 && nouns.every((n) => n.startsWith(lead))) {
    // "bucket ACL", "bucket policy" of 8 buckets → "the ACL and policy of 8 S3 buckets"
    const rest: string[] = [];
    for (const n of nouns) rest.push(n.slice(lead.length));
    what = `the ${sayList(rest)} of ${plural(res.names.length, `${service} ${res.noun}`)}`;
  } else if (enumerated) {
    what = `${service}: ${sayList(nouns, 6)}${of}`;
  } else {
    what = `${service} ${sayList(nouns)}${of}`;
  }
  const name = `${verb} ${what}${where}`;
  const which = res.names.length > 1 ? ` (${sayList(res.names, 3)})` : '';
  const count = members.length > 1 ? `, ${members.length} calls` : '';
  return { name, summary: `${name}${which}${count}${failures(members)}.` };
}

/** "Created IAM role ×2: a, b", "Launched EC2 instances ×3 — 2 of 3 failed (…)". */
export function writeSentence(
  phrases: Phrases,
  key: string,
  members: readonly LabelledEvent[],
  res: Resources,
): Sentence {
  const prefix = key.slice(0, key.indexOf(':'));
  const w = phrases.call(key);
  const times = members.length > 1 ? ` ×${members.length}` : '';
  // "role app ×2" for one resource, "role ×2: app and worker" for several.
  const what =
    res.names.length === 1
      ? `${w.noun} ${res.names[0]}${times}`
      : `${w.noun}${times}${res.names.length > 1 ? `: ${sayList(res.names, 3)}` : ''}`;
  const where = regionsOf(phrases, prefix, members);
  const said = w.phrase
    ? `${w.phrase}${res.names.length === 1 ? ` ${res.names[0]}${times}` : `${times}${res.names.length > 1 ? `: ${sayList(res.names, 3)}` : ''}`}`
    : `${w.verb} ${phrases.service(prefix)} ${what}`;
  const failed = failures(members);
  return { name: `${said}${failed}`, summary: `${said}${where}${failed}.` };
}

const REMOVING = /^(Delete|Detach|Disassociate|Remove|Terminate|Release|Deregister|Revoke)/;

/** "Terraform apply: 14 changes", "Terraform destroy: 9 changes", "Terraform plan or refresh: 40 reads". */
export function runHeader(
  phrases: Phrases,
  tool: Tool,
  reads: readonly LabelledEvent[],
  writes: readonly LabelledEvent[],
  runner?: Tool,
): { text: Sentence; mode: string } {
  const ok: LabelledEvent[] = [];
  let removing = 0;
  for (const le of writes) {
    if (le.event.record.errorCode) continue;
    ok.push(le);
    if (REMOVING.test(le.event.record.eventName)) removing++;
  }
  const failed = writes.length - ok.length;
  const mode = ok.length === 0 ? 'plan' : removing >= ok.length * 0.8 ? 'destroy' : 'apply';
  const changes = new Map<string, number>();
  for (const le of ok) {
    const w = phrases.call(le.key);
    const k = `${w.verb.toLowerCase()} ${phrases.service(le.key.slice(0, le.key.indexOf(':')))} ${w.noun}`;
    changes.set(k, (changes.get(k) ?? 0) + 1);
  }
  const list: string[] = [];
  for (const [k, n] of changes) list.push(n > 1 ? `${k} ×${n}` : k);
  const failedText = failed > 0 ? `, ${failed} failed` : '';
  const who = runner && runner.id !== tool.id ? `${runner.name} via ${tool.name}` : tool.name;
  const name =
    mode === 'plan'
      ? `${who} plan or refresh: ${plural(reads.length, 'read')}${failedText}`
      : `${who} ${mode}: ${plural(ok.length, 'change')}${failedText}`;
  const summary =
    mode === 'plan'
      ? `${name}; no change made.`
      : `${name}: ${sayList(list, 8)}; ${plural(reads.length, 'read')} of current state.`;
  const regions = new Set<string>();
  for (const le of reads) {
    const r = le.event.record.awsRegion;
    if (r) regions.add(r);
  }
  const region = regions.size === 1 ? ` Region ${[...regions][0]}.` : '';
  return { text: { name, summary: `${summary}${region}` }, mode };
}
