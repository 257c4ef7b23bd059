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

/**
 * Every labelled event is made here, fields in one order, so the assembler and the fallback see one
 * object shape (one hidden class) whichever pass made it.
 */
export function labelled(event: EngineEvent, key: string, family: string, labels: string[]): LabelledEvent {
  return { event, key, family, labels };
}

/** The labels of an event no case names: one shared empty list, never written to. */
export const NO_LABELS: string[] = [];

function applyCases(cases: readonly CompiledCase[], facts: EventFacts, out: string[]): void {
  for (const c of cases) {
    if (!c.test(facts)) continue;
    for (const l of c.labels) if (!out.includes(l)) out.push(l);
    if (!c.continue) return;
  }
}

export function labelEvent(rules: SignalRuleSet, event: EngineEvent): LabelledEvent {
  const key = eventKey(event.record);
  const family = rules.ua.classify(event.record.userAgent).shape;
  const own = rules.cases.get(key);
  const labels =
    own === undefined && rules.anyCases.length === 0 ? NO_LABELS : labelsOf(rules, own, event, family);
  return labelled(event, key, family, labels);
}

function labelsOf(
  rules: SignalRuleSet,
  own: readonly CompiledCase[] | undefined,
  event: EngineEvent,
  family: string,
): string[] {
  const facts = new EventFacts(event, family);
  const labels: string[] = [];
  try {
    applyCases(rules.anyCases, facts, labels);
    if (own !== undefined) applyCases(own, facts, labels);
  } catch {
    // A field of an unexpected shape: the event gets no labels and is explained by the fallback instead.
    return NO_LABELS;
  }
  return labels.length === 0 ? NO_LABELS : labels;
}
