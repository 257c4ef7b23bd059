/**
 * The compiled signal rules the engine runs on (what rules.ts loads from rules/signals/ and pages.ts adds to):
 * a type-only module, so the loader and the compilers of its parts do not import each other.
 */

import type { UserAgentClassifier } from '../user-agent.ts';
import type { Predicate } from './conditions.ts';
import type { Phrases } from './phrases.ts';
import type { FallbackFile, FollowupFile } from './schema.ts';

export interface CompiledCase {
  test: Predicate;
  labels: string[];
  continue: boolean;
}

export interface CompiledDef {
  id: string;
  /** The id reported (aliasOf, else id). */
  reportId: string;
  service: string;
  name: string;
  summary: string;
  url?: string;
  /** null = any labelled event may anchor. */
  anchors: ReadonlySet<string> | null;
  /** null = nothing required. */
  required: readonly string[] | null;
  /** Event names kept as members; null = every event in the window. */
  members: ReadonlySet<string> | null;
  lookbackMs: number;
  lookaheadMs: number;
  suppressed: boolean;
  eachEvent: boolean;
}

export interface SignalRuleSet {
  ua: UserAgentClassifier;
  /** Cases per event key (`iam:ListUsers`). */
  cases: ReadonlyMap<string, readonly CompiledCase[]>;
  /** Cases tried on every event, before its own (e.g. CloudShell interactive commands). */
  anyCases: readonly CompiledCase[];
  defs: ReadonlyMap<string, CompiledDef>;
  followups: FollowupFile;
  fallback?: FallbackFile;
  /** Console pages (pages/*.yaml): a second pass over the console events these rules leave over. */
  pages?: SignalRuleSet;
  /** Words for programmatic calls (programmatic.yaml; plain defaults when absent). */
  phrases: Phrases;
}
