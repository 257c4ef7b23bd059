/**
 * Labelling: which signal ids each event could belong to (rules/signals/labels/*.yaml).
 * Cases of an event are an else-if chain (first match wins) unless a case says `continue`.
 */

import type { EngineEvent } from '../model.ts';
import { EventFacts, eventKey } from './conditions.ts';
import type { CompiledCase, SignalRuleSet } from './rule-set.ts';

export interface LabelledEvent {
  event: EngineEvent;
  /** `iam:ListUsers` */
  key: string;
  family: string;
  labels: string[];
}

/** The labels of the cases that hold, added to `out` (a new array when `out` is the shared empty one). */
function applyCases(cases: readonly CompiledCase[], facts: EventFacts, out: string[]): string[] {
  let labels = out;
  for (const c of cases) {
    if (!c.test(facts)) continue;
    if (labels === NO_LABELS) labels = [];
    for (const l of c.labels) if (!labels.includes(l)) labels.push(l);
    if (!c.continue) break;
  }
  return labels;
}

/** The labels of an event no case labels: one shared (frozen) empty list, not one per event. */
export const NO_LABELS = Object.freeze([]) as unknown as string[];

export function labelEvent(rules: SignalRuleSet, event: EngineEvent): LabelledEvent {
  const key = eventKey(event.record);
  const family = rules.ua.classify(event.record.userAgent).shape;
  const facts = new EventFacts(event, family);
  let labels = NO_LABELS;
  try {
    labels = applyCases(rules.anyCases, facts, labels);
    const own = rules.cases.get(key);
    if (own) labels = applyCases(own, facts, labels);
  } catch {
    // A field of an unexpected shape: the event gets no labels and is explained by the fallback instead.
    labels = NO_LABELS;
  }
  return { event, key, family, labels };
}
