/**
 * Words for calls that are not console clicks (rules/signals/programmatic.yaml): the service's name, a
 * call's verb and noun ("DescribeDBInstances" → listing, "DB instances"; "CreateRole" → "Created", "role")
 * and the tool behind a user agent. Compiled once; each distinct call and user agent is worked out once.
 */
import type { ProgrammaticFile } from './schema.ts';

export interface CallWords {
  /** Past tense for a change ("Created"), or "Listed" / "Read" for a read. */
  verb: string;
  /** Whether a read lists things (List…, Describe…) rather than reading one thing (Get…). */
  listing: boolean;
  /** What the call is about: "DB instances", "bucket ACL", "role". */
  noun: string;
  /** A whole phrase for the call, said instead of verb + service + noun ("Left the AWS organization"). */
  phrase?: string;
}

export interface Tool {
  id: string;
  name: string;
  kind: 'deployment' | 'attack' | 'inventory' | 'cli' | 'sdk' | 'other';
  runKey?: RegExp;
  command?: RegExp;
}

export interface Phrases {
  readonly runGapMs: number;
  readonly burstGapMs: number;
  readonly enumerateAt: number;
  readonly maxServicesPerBurst: number;
  service(prefix: string): string;
  isGlobal(prefix: string): boolean;
  /** Words for `source:Name` (memoised per call). */
  call(key: string): CallWords;
  tool(id: string): Tool;
}

/** Used when a rules folder has no programmatic.yaml: plain words, no tools. */
export const DEFAULT_PROGRAMMATIC: ProgrammaticFile = {
  runGapSeconds: 300,
  burstGapSeconds: 60,
  enumerateAt: 4,
  maxServicesPerBurst: 4,
  tools: {},
  services: {},
  global: [],
  readVerbs: { list: ['List', 'Describe'], read: ['Get'] },
  verbs: {},
  readVerbOverrides: {},
  nouns: {},
  phrases: {},
  words: {},
};

const MEMO_LIMIT = 10_000;
/** API-version suffixes some services put on event names: ListFunctions20150331, GetFunction20150331v2. */
const VERSION_SUFFIX = /(\d{8}(v\d+)?|\d{4}_\d{2}_\d{2}|V\d+)$/;
const WORD = /[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+/g;

export function compilePhrases(file: ProgrammaticFile): Phrases {
  const listVerbs = new Set(file.readVerbs.list);
  const readVerbs = new Set(file.readVerbs.read);
  const global = new Set(file.global);
  const memo = new Map<string, CallWords>();
  const tools = new Map<string, Tool>();
  for (const [id, t] of Object.entries(file.tools)) {
    tools.set(id, {
      id,
      name: t.name,
      kind: t.kind,
      ...(t.runKey ? { runKey: new RegExp(t.runKey) } : {}),
      ...(t.command ? { command: new RegExp(t.command) } : {}),
    });
  }
  const spell = (w: string): string =>
    file.words[w] ?? (w.length > 1 && w === w.toUpperCase() ? w : w.toLowerCase());

  const words = (key: string): CallWords => {
    const name = key.slice(key.indexOf(':') + 1).replace(VERSION_SUFFIX, '');
    const parts = name.match(WORD) ?? [name];
    // The verb may be two words (BatchGet): the longest known leading phrase wins.
    let take = 1;
    if (parts.length > 2 && (listVerbs.has(parts[0]! + parts[1]!) || readVerbs.has(parts[0]! + parts[1]!)))
      take = 2;
    const lead = parts.slice(0, take).join('');
    const listing = listVerbs.has(lead);
    const reading = listing || readVerbs.has(lead);
    const rest = parts.slice(take).map(spell).join(' ');
    const base = `${key.slice(0, key.indexOf(':'))}:${name}`;
    const verb =
      file.readVerbOverrides[base] ?? file.verbs[lead] ?? (reading ? (listing ? 'Listed' : 'Read') : 'Ran');
    let noun = file.nouns[base] ?? (file.verbs[lead] || reading ? rest : parts.map(spell).join(' '));
    // "Route 53 Resolver" + "resolver rules" → "Route 53 Resolver rules": no word said twice.
    const lastWord = (file.services[base.slice(0, base.indexOf(':'))] ?? '').split(' ').pop()?.toLowerCase();
    if (lastWord && noun.toLowerCase().startsWith(`${lastWord} `)) noun = noun.slice(lastWord.length + 1);
    const phrase = file.phrases[base];
    return { verb, listing, noun: noun || name, ...(phrase ? { phrase } : {}) };
  };

  return {
    runGapMs: file.runGapSeconds * 1000,
    burstGapMs: file.burstGapSeconds * 1000,
    enumerateAt: file.enumerateAt,
    maxServicesPerBurst: file.maxServicesPerBurst,
    service: (prefix) => file.services[prefix] ?? prefix,
    isGlobal: (prefix) => global.has(prefix),
    call(key) {
      let hit = memo.get(key);
      if (!hit) {
        hit = words(key);
        if (memo.size < MEMO_LIMIT) memo.set(key, hit);
      }
      return hit;
    },
    tool: (id) => tools.get(id) ?? { id, name: id, kind: 'other' },
  };
}
