/**
 * The signal engine: one session's events → the user actions behind them.
 *
 *   label (rules/signals/labels) → assemble (defs, windows) → follow-ups → page-level / collapse → render
 *
 * `createSignalMapper()` loads and compiles the rules once; `map()` is pure and linear in the events.
 */

import { isoSecond } from '../ingest/event-time.ts';
import type { EngineEvent, Signal } from '../model.ts';
import { compareEvents } from '../order.ts';
import type { RuleProblem } from '../rule-yaml.ts';
import type { SessionContext, SignalMapper, SignalMapping } from '../stages.ts';
import { assemble } from './assembler.ts';
import { eventKey } from './conditions.ts';
import { fallbackSignals } from './fallback.ts';
import { type DraftSignal, indexFollowups } from './followups.ts';
import { type LabelledEvent, labelEvent, labelled, NO_LABELS } from './labeller.ts';
import { resourceName } from './resources.ts';
import type { SignalRuleSet } from './rule-set.ts';
import { DEFAULT_SIGNAL_RULES_DIR, loadSignalRules } from './rules.ts';
import type { ChunkContext, SignalEngine } from './signal-engine.ts';
import { compareSignals } from './signal-order.ts';
import { createSignalStream, type SignalStream } from './stream.ts';
import { renderTemplate, type TemplateContext } from './templates.ts';
import { changesSomething } from './writes.ts';

export type { RuleProblem } from '../rule-yaml.ts';
export { DEFAULT_SIGNAL_RULES_DIR } from './rules.ts';
export type { ChunkContext, MappedChunk, SignalEngine } from './signal-engine.ts';
export { compareSignals } from './signal-order.ts';
export type { SignalStream } from './stream.ts';

export interface SignalMapperOptions {
  rulesDir?: string;
  /** The user-agent table (default: user-agents.yaml beside the rules folder, rules/user-agents.yaml). */
  userAgentsFile?: string;
  /** Add page-level answers and collapsed programmatic calls (default true). */
  fallback?: boolean;
  /** Name leftover console events with the pages of rules/signals/pages (default true). */
  pages?: boolean;
  /**
   * Research only: visit same-second events in this order instead of the engine's own tie-break
   * (e.g. by eventID, as Cloud Console Cartographer does). Results then depend on that order.
   */
  sameSecondOrder?: (a: EngineEvent, b: EngineEvent) => number;
  /**
   * Raise a process warning for each rule file error (the file is skipped, the rest works), so a broken
   * rule never silently removes a service's actions. Off for library use and tests.
   */
  warnOnRuleErrors?: boolean;
}

export interface LoadedSignalMapper extends SignalMapper {
  /** Problems found while loading the rules (bad files are skipped, the rest still work). */
  readonly problems: readonly RuleProblem[];
  readonly rules: SignalRuleSet;
  /** The same mapping, incrementally: push a session's events in time order, get actions once final. */
  stream(session?: SessionContext): SignalStream;
  /** For rule writers: each event with its user-agent family, labels and the signal that took it. */
  explain(session: SessionContext, events: readonly EngineEvent[]): ExplainedEvent[];
}

export interface ExplainedEvent {
  event: EngineEvent;
  key: string;
  family: string;
  labels: string[];
  signal?: Signal;
}

export async function createSignalMapper(options: SignalMapperOptions = {}): Promise<LoadedSignalMapper> {
  const { rules, problems } = await loadSignalRules(
    options.rulesDir ?? DEFAULT_SIGNAL_RULES_DIR,
    options.userAgentsFile,
  );
  if (options.warnOnRuleErrors) {
    for (const p of problems) {
      if (p.severity === 'warning') continue;
      process.emitWarning(
        `${p.file}:${p.line}: ${p.message} (run: cartographer rules check)`,
        'SignalRuleError',
      );
    }
  }
  return createSignalMapperFromRules(rules, problems, options);
}

export function createSignalEngine(rules: SignalRuleSet, options: SignalMapperOptions = {}): SignalEngine {
  const follow = indexFollowups(rules.followups.followups, rules.followups.previousSkips);
  const noFollowups = indexFollowups([], []);
  const useFallback = options.fallback ?? true;
  const sameSecond = options.sameSecondOrder ? 'as-given' : 'specific-first';
  const consoleFamilies = new Set(
    (rules.fallback?.pages.userAgents ?? ['console']).flatMap((n) => rules.ua.expand(n)),
  );
  const pages = options.pages === false ? undefined : rules.pages;
  return {
    rules,
    render: (d) => render(rules, d),
    mapChunk(events, context = EMPTY_CONTEXT, session) {
      // Console page definitions describe console sessions; a programmatic or AWS-service session's calls
      // are not clicks, so they go straight to the collapsed lines (interactive CloudShell commands live
      // in console sessions and keep their labels there).
      const consolePages = !session || !NOT_CONSOLE.has(session.kind);
      const labelled = consolePages ? labelAll(rules, events) : unlabelledAll(rules, events);
      const assembled = assemble(rules, follow, labelled, { sameSecond, previous: context.rules });
      let leftovers = unusedOf(labelled, assembled.used);
      const drafts = assembled.signals;
      let pagePrevious = context.pages;
      if (pages && consolePages && leftovers.length > 0) {
        // Second pass: the pages of pages/*.yaml over the console events the first pass left.
        const relabelled = relabel(pages, consoleFamilies, leftovers);
        const second = assemble(pages, noFollowups, relabelled, { sameSecond, previous: context.pages });
        for (const d of second.signals) drafts.push(d);
        pagePrevious = second.previous;
        leftovers = unusedOf(relabelled, second.used);
      }
      const extra = useFallback && rules.fallback ? fallbackOf(rules, leftovers) : NO_SIGNALS;
      return {
        drafts,
        extra,
        unmappedEventIds: extra.length > 0 ? [] : idsOf(leftovers),
        previous: { rules: assembled.previous, pages: pagePrevious },
      };
    },
  };
}

const EMPTY_CONTEXT: ChunkContext = { rules: [], pages: [] };
const NO_SIGNALS: Signal[] = [];

// The lists below are built with push loops, never map/filter/spread: an array's hidden class follows how it
// was made (and Array.prototype.map makes a different one once its caller is optimised), and the assembler's
// optimised code deopts on every new kind of list it is given.

function labelAll(rules: SignalRuleSet, events: readonly EngineEvent[]): LabelledEvent[] {
  const out: LabelledEvent[] = [];
  for (let i = 0; i < events.length; i++) out.push(labelEvent(rules, events[i]!));
  return out;
}

/** A programmatic or service session: its events keep no labels (see mapChunk). */
function unlabelledAll(rules: SignalRuleSet, events: readonly EngineEvent[]): LabelledEvent[] {
  const out: LabelledEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    out.push(labelled(e, eventKey(e.record), rules.ua.classify(e.record.userAgent).shape, NO_LABELS));
  }
  return out;
}

/** The console events the first pass left, labelled with the pages; other families keep no labels. */
function relabel(
  pages: SignalRuleSet,
  consoleFamilies: ReadonlySet<string>,
  leftovers: readonly LabelledEvent[],
): LabelledEvent[] {
  const out: LabelledEvent[] = [];
  for (const l of leftovers) {
    out.push(
      consoleFamilies.has(l.family)
        ? labelEvent(pages, l.event)
        : labelled(l.event, l.key, l.family, NO_LABELS),
    );
  }
  return out;
}

function unusedOf(labelled: readonly LabelledEvent[], used: Uint8Array): LabelledEvent[] {
  const out: LabelledEvent[] = [];
  for (let i = 0; i < labelled.length; i++) if (!used[i]) out.push(labelled[i]!);
  return out;
}

function idsOf(list: readonly LabelledEvent[]): string[] {
  const out: string[] = [];
  for (const l of list) out.push(l.event.id);
  return out;
}

function fallbackOf(rules: SignalRuleSet, leftovers: readonly LabelledEvent[]): Signal[] {
  if (!rules.fallback || leftovers.length === 0) return NO_SIGNALS;
  const out: Signal[] = [];
  for (const f of fallbackSignals(rules.fallback, rules.ua, rules.phrases, leftovers)) {
    out.push(signalOf(f.id, f.name, f.summary, f.url, f.service, f.members, f.suppressed, f.details));
  }
  return out;
}

/** Every output signal is made here, so all of them share one shape (the field order is the JSON's). */
function signalOf(
  id: string,
  name: string,
  summary: string,
  url: string | undefined,
  service: string,
  members: readonly EngineEvent[],
  suppressed: boolean,
  details: Record<string, unknown>,
): Signal {
  const eventIds: string[] = [];
  for (const e of members) eventIds.push(e.id);
  return {
    id,
    name,
    summary,
    url,
    service,
    start: iso(members[0]!),
    end: iso(members[members.length - 1]!),
    eventIds,
    suppressed,
    details,
  };
}

export function createSignalMapperFromRules(
  rules: SignalRuleSet,
  problems: readonly RuleProblem[] = [],
  options: SignalMapperOptions = {},
): LoadedSignalMapper {
  const engine = createSignalEngine(rules, options);
  return {
    problems,
    rules,
    stream: (session) => createSignalStream(engine, session),
    explain(session, input) {
      const events = [...input].sort(compareEvents);
      const { signals } = this.map(session, events);
      const owner = new Map<string, Signal>();
      for (const sig of signals) for (const id of sig.eventIds) owner.set(id, sig);
      return events.map((e) => {
        const l = labelEvent(rules, e);
        // Page labels (pages/*.yaml) apply to what the label/def rules leave over; shown as `page:<id>`.
        const pageLabels = rules.pages ? labelEvent(rules.pages, e).labels.map((x) => `page:${x}`) : [];
        return { ...l, labels: [...l.labels, ...pageLabels], signal: owner.get(e.id) };
      });
    },
    map(session: SessionContext, input: readonly EngineEvent[]): SignalMapping {
      const tieOrder = options.sameSecondOrder;
      const events = tieOrder
        ? [...input].sort((a, b) => a.time - b.time || tieOrder(a, b))
        : isSorted(input)
          ? input
          : [...input].sort(compareEvents);
      const chunk = engine.mapChunk(events, undefined, session);
      const signals: Signal[] = [];
      for (const d of chunk.drafts) signals.push(engine.render(d));
      for (const s of chunk.extra) signals.push(s);
      signals.sort(compareSignals);
      return { signals, unmappedEventIds: chunk.unmappedEventIds };
    },
  };
}

function isSorted(events: readonly EngineEvent[]): boolean {
  for (let i = 1; i < events.length; i++) if (compareEvents(events[i - 1]!, events[i]!) > 0) return false;
  return true;
}

const NOT_CONSOLE: ReadonlySet<string> = new Set(['programmatic', 'service']);

/** Enough resource names to answer "which ones?" in Slack without flooding it. */
const MAX_RESOURCES = 20;

const iso = (e: EngineEvent) => isoSecond(e.time);

function render(rules: SignalRuleSet, d: DraftSignal): Signal {
  const ruleDef = rules.defs.get(d.defId);
  const def = ruleDef ?? rules.pages?.defs.get(d.defId);
  const members = d.members;
  const keys = new Array<string>(members.length);
  for (let i = 0; i < members.length; i++) keys[i] = eventKey(members[i]!.record);
  const details = defDetails(rules, d, keys, ruleDef ? 'defs' : 'pages');
  if (!def) return signalOf(d.id, d.id, d.id, undefined, 'unknown', members, d.suppressed, details);
  const ctx: TemplateContext = { anchor: d.anchor, members, keys };
  const name = renderTemplate(def.name, ctx);
  const summary = renderTemplate(def.summary, ctx);
  const url = def.url ? renderTemplate(def.url, ctx) : undefined;
  return signalOf(d.id, name, summary, url, def.service, members, d.suppressed, details);
}

/** What a definition's signal says about its events (`keys[i]`: the event key of `d.members[i]`). */
function defDetails(
  rules: SignalRuleSet,
  d: DraftSignal,
  keys: readonly string[],
  from: 'defs' | 'pages',
): Record<string, unknown> {
  const members = d.members;
  const eventNames: Record<string, number> = {};
  const regions = new Set<string>();
  const resources = new Set<string>();
  let errors = 0;
  let writes = 0;
  for (let i = 0; i < members.length; i++) {
    const e = members[i]!;
    const k = keys[i]!;
    eventNames[k] = (eventNames[k] ?? 0) + 1;
    const record = e.record;
    if (record.awsRegion) regions.add(record.awsRegion);
    if (record.errorCode) errors++;
    if (changesSomething(e)) writes++;
    const r =
      rules.fallback && resources.size < MAX_RESOURCES ? resourceName(rules.fallback, k, e) : undefined;
    if (r !== undefined) resources.add(r);
  }
  const details: Record<string, unknown> = {
    from,
    eventCount: members.length,
    eventNames,
    regions: [...regions].sort(),
  };
  if (resources.size > 0) details.resources = [...resources];
  if (errors) details.errorCount = errors;
  if (writes) details.writeCount = writes;
  if (d.defId !== d.id) details.definition = d.defId;
  return details;
}
