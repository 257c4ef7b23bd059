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
  const facts = new EventFacts(event, family);
  const labels: string[] = [];
  try {
    applyCases(rules.anyCases, facts, labels);
    const own = rules.cases.get(key);
    if (own) applyCases(own, facts, labels);
  } catch {
    // A field of an unexpected shape: the event gets no labels and is explained by the fallback instead.
    labels.length = 0;
  }
  return { event, key, family, labels };
}
