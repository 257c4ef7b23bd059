/**
 * Compiles the `when` conditions of label rules into plain predicates, once at load, so labelling an
 * event costs a few property reads per case rather than re-interpreting YAML.
 */

import { asString, compilePath, valuesAt } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import type { UserAgentClassifier } from '../user-agent.ts';
import type { ObjectTest, When } from './schema.ts';

/** Per-object facts computed at most once per event (key set, compact JSON text). */
export class ObjectFacts {
  private keyText?: string;
  private emptyText?: string;
  private jsonText?: string;
  constructor(
    readonly value: Record<string, unknown> | null | undefined,
    readonly region = '',
  ) {}
  get keys(): string {
    if (this.keyText === undefined)
      this.keyText = this.value ? keyText(allKeysTree, this.value, anyValue) : '';
    return this.keyText;
  }
  get emptyKeys(): string {
    if (this.emptyText === undefined)
      this.emptyText = this.value ? keyText(emptyTree, this.value, isEmptyValue) : '';
    return this.emptyText;
  }
  get json(): string {
    if (this.jsonText === undefined) {
      const empty = !this.value || Object.keys(this.value).length === 0;
      this.jsonText = empty ? '' : JSON.stringify(this.value);
    }
    return this.jsonText;
  }
}

/** A value `emptyKeys` lists: '' or an object (not an array) without keys. */
function isEmptyValue(x: unknown): boolean {
  return x === '' || (x !== null && typeof x === 'object' && !Array.isArray(x) && !hasOwnKey(x));
}

function hasOwnKey(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

const anyValue = (_x: unknown): boolean => true;

/**
 * The object's keys (those whose value passes `keep`), sorted and joined with commas, remembered per sequence
 * of keys: the request and response objects of one API call repeat their shape, so most events walk a few Map
 * entries instead of building a key array, its sorted copy and the joined text. Each tree is bounded (hostile
 * input with endless key names); beyond the bound the text is built as before.
 */
interface KeyNode {
  next?: Map<string, KeyNode>;
  text?: string;
}
interface KeyTree {
  root: KeyNode;
  nodes: number;
}
const allKeysTree: KeyTree = { root: {}, nodes: 0 };
const emptyTree: KeyTree = { root: {}, nodes: 0 };
const MAX_KEY_NODES = 20_000;

function keyText(tree: KeyTree, o: Record<string, unknown>, keep: (x: unknown) => boolean): string {
  let node = tree.root;
  for (const k in o) {
    if (!Object.hasOwn(o, k) || !keep(o[k])) continue;
    let next = node.next?.get(k);
    if (!next) {
      if (tree.nodes >= MAX_KEY_NODES) return plainKeyText(o, keep);
      next = {};
      if (!node.next) node.next = new Map();
      node.next.set(k, next);
      tree.nodes++;
    }
    node = next;
  }
  if (node.text === undefined) node.text = plainKeyText(o, keep);
  return node.text;
}

function plainKeyText(o: Record<string, unknown>, keep: (x: unknown) => boolean): string {
  return Object.keys(o)
    .filter((k) => keep(o[k]))
    .sort()
    .join(',');
}

/**
 * What a label case may test about one event. The request and response facts are made on first use: most
 * cases test the user agent or nothing, so most events never need them.
 */
export class EventFacts {
  private paramFacts: ObjectFacts | undefined = undefined;
  private responseFacts: ObjectFacts | undefined = undefined;
  constructor(
    readonly event: EngineEvent,
    readonly family: string,
  ) {}
  get params(): ObjectFacts {
    if (this.paramFacts === undefined) {
      const r = this.event.record;
      this.paramFacts = new ObjectFacts(r.requestParameters, r.awsRegion);
    }
    return this.paramFacts;
  }
  get response(): ObjectFacts {
    if (this.responseFacts === undefined) {
      const r = this.event.record;
      this.responseFacts = new ObjectFacts(r.responseElements, r.awsRegion);
    }
    return this.responseFacts;
  }
}

export type Predicate = (f: EventFacts) => boolean;

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

export function compileWhen(when: When | undefined, ua: UserAgentClassifier): Predicate {
  if (!when) return () => true;
  const tests: Predicate[] = [];
  if (when.userAgent !== undefined) {
    const fams = new Set(list(when.userAgent).flatMap((n) => ua.expand(n)));
    tests.push((f) => fams.has(f.family));
  }
  if (when.notUserAgent !== undefined) {
    const fams = new Set(list(when.notUserAgent).flatMap((n) => ua.expand(n)));
    tests.push((f) => !fams.has(f.family));
  }
  if (when.params) {
    const t = compileObjectTest(when.params);
    tests.push((f) => t(f.params));
  }
  if (when.response) {
    const t = compileObjectTest(when.response);
    tests.push((f) => t(f.response));
  }
  if (when.errorCode !== undefined) {
    const codes = new Set(list(when.errorCode).map((c) => c ?? ''));
    tests.push((f) => codes.has(f.event.record.errorCode ?? ''));
  }
  if (when.errorMessage !== undefined) {
    const m = when.errorMessage;
    tests.push((f) => {
      const msg = f.event.record.errorMessage ?? '';
      return (
        (m.equals === undefined || msg === m.equals) &&
        (m.startsWith === undefined || msg.startsWith(m.startsWith)) &&
        (m.contains === undefined || msg.includes(m.contains))
      );
    });
  }
  if (when.region !== undefined) {
    const regions = new Set(list(when.region));
    tests.push((f) => regions.has(f.event.record.awsRegion ?? ''));
  }
  if (when.any) {
    const alts = when.any.map((w) => compileWhen(w, ua));
    tests.push((f) => alts.some((a) => a(f)));
  }
  if (when.not) {
    const inner = compileWhen(when.not, ua);
    tests.push((f) => !inner(f));
  }
  return (f) => {
    for (const t of tests) if (!t(f)) return false;
    return true;
  };
}

export type ObjectPredicate = (o: ObjectFacts) => boolean;

export function compileObjectTest(t: ObjectTest): ObjectPredicate {
  const tests: ObjectPredicate[] = [];
  const keyText = (keys: string[]) => [...keys].sort().join(',');
  if (t.keys) {
    const want = keyText(t.keys);
    tests.push((o) => o.keys === want);
  }
  if (t.keysIn) {
    const wants = new Set(t.keysIn.map(keyText));
    tests.push((o) => wants.has(o.keys));
  }
  if (t.hasKeys) {
    const want = t.hasKeys;
    tests.push((o) => !!o.value && want.every((k) => k in (o.value as object)));
  }
  if (t.emptyKeys) {
    const want = keyText(t.emptyKeys);
    tests.push((o) => o.emptyKeys === want);
  }
  for (const [path, value] of Object.entries(t.equals ?? {})) {
    const at = compilePath(path);
    const want = asString(value);
    tests.push((o) => valuesAt(o.value, at).some((v) => asString(v) === want));
  }
  for (const [path, text] of Object.entries(t.equalsTemplate ?? {})) {
    const at = compilePath(path);
    tests.push((o) => {
      const want = text.replaceAll('{{region}}', o.region);
      return valuesAt(o.value, at).some((v) => asString(v) === want);
    });
  }
  for (const [path, value] of Object.entries(t.notEquals ?? {})) {
    const at = compilePath(path);
    const want = asString(value);
    tests.push((o) => !valuesAt(o.value, at).some((v) => asString(v) === want));
  }
  for (const [path, values] of Object.entries(t.in ?? {})) {
    const at = compilePath(path);
    const want = new Set(values.map(asString));
    tests.push((o) => valuesAt(o.value, at).some((v) => want.has(asString(v))));
  }
  for (const [path, s] of Object.entries(t.startsWith ?? {})) {
    const at = compilePath(path);
    tests.push((o) => valuesAt(o.value, at).some((v) => asString(v).startsWith(s)));
  }
  for (const [path, s] of Object.entries(t.endsWith ?? {})) {
    const at = compilePath(path);
    tests.push((o) => valuesAt(o.value, at).some((v) => asString(v).endsWith(s)));
  }
  for (const [path, s] of Object.entries(t.matches ?? {})) {
    const at = compilePath(path);
    const re = new RegExp(s);
    tests.push((o) => valuesAt(o.value, at).some((v) => re.test(asString(v))));
  }
  for (const path of t.exists ?? []) {
    const at = compilePath(path);
    tests.push((o) => valuesAt(o.value, at).length > 0);
  }
  for (const path of t.absent ?? []) {
    const at = compilePath(path);
    tests.push((o) => valuesAt(o.value, at).length === 0);
  }
  for (const s of t.contains ?? []) tests.push((o) => o.json.includes(s));
  for (const s of t.notContains ?? []) tests.push((o) => !o.json.includes(s));
  if (t.json !== undefined) {
    const want = t.json;
    tests.push((o) => o.json === want);
  }
  for (const [path, n] of Object.entries(t.count ?? {})) {
    const at = compilePath(path);
    tests.push((o) => {
      const vs = valuesAt(o.value, at);
      const arr = vs.length === 1 && Array.isArray(vs[0]) ? vs[0] : vs;
      return arr.length === n;
    });
  }
  for (const [path, text] of Object.entries(t.sortedJoin ?? {})) {
    const at = compilePath(path);
    tests.push((o) => {
      const vs = valuesAt(o.value, at);
      const arr = vs.length === 1 && Array.isArray(vs[0]) ? vs[0] : vs;
      return arr.map(asString).sort().join(',') === text;
    });
  }
  return (o) => {
    for (const x of tests) if (!x(o)) return false;
    return true;
  };
}

/** `iam.amazonaws.com` + `ListUsers` → `iam:ListUsers` (Cloud Console Cartographer's naming). */
export function eventKey(record: { eventSource: string; eventName: string }): string {
  const source = String(record.eventSource ?? '');
  const name = String(record.eventName ?? '');
  // Asked many times per event (labels, templates, follow-ups): one text per (source, name), not one per call.
  let byName = eventKeys.get(source);
  let key = byName?.get(name);
  if (key !== undefined) return key;
  const dot = source.indexOf('.');
  key = `${dot < 0 ? source : source.slice(0, dot)}:${name}`;
  if (eventKeyCount < MAX_EVENT_KEYS) {
    if (!byName) {
      byName = new Map();
      eventKeys.set(source, byName);
    }
    byName.set(name, key);
    eventKeyCount++;
  }
  return key;
}

const eventKeys = new Map<string, Map<string, string>>();
let eventKeyCount = 0;
/** Real CloudTrail has a few thousand (source, name) pairs; hostile input with endless names stays bounded. */
const MAX_EVENT_KEYS = 50_000;
