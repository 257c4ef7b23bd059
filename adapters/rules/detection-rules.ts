/**
 * Loads the detection rules from disk and builds the detector (the engine compiles; this reads):
 *
 *   const detector = await createDetector({ allowlistFile });   // throws DetectionRulesError on a bad rule
 *
 * With `allowlist` (a store shared by every consumer), "Mark benign" entries count at once everywhere.
 */

import { join } from 'node:path';
import {
  buildDetector,
  type CartographerDetector,
  compileRuleSet,
  errorsOf,
  type LoadedRules,
  type RuleProblem,
} from '../../engine/detections/index.ts';
import { type AllowListStore, openAllowListStore } from './allowlist-store.ts';
import { DEFAULT_RULES_ROOT, readRuleSources } from './rule-files.ts';

export type { CartographerDetector, LoadedRules } from '../../engine/detections/index.ts';
export { DetectionRulesError } from '../../engine/detections/index.ts';
export { DEFAULT_RULES_ROOT } from './rule-files.ts';

export interface DetectorOptions {
  /** The rules root holding detections/, sigma/, cloudgrappler/ and context/ (default: the bundled rules/). */
  rulesDir?: string;
  /** Extra rule folders (`scan --rules DIR`, the `rulesDirs` setting); their rules have provenance `custom`. */
  extraRuleDirs?: readonly string[];
  /** The analysts' allow-list file (ignored when `allowlist` is given). A missing file is an empty list. */
  allowlistFile?: string;
  /** A live allow-list shared with other detectors (the bot's scheduler and commands use one). */
  allowlist?: AllowListStore;
  /** Build despite bad rules (they are left out; `problems` names them). */
  lenient?: boolean;
  /** For expiry warnings and tests (default: now). */
  nowMs?: number;
}

export function loadDetectionRules(
  root: string,
  userAllowlistFile?: string,
  extraRuleDirs: readonly string[] = [],
  nowMs?: number,
): LoadedRules {
  return compileRuleSet({
    ...readRuleSources(root, {
      extraDirs: extraRuleDirs,
      allowlistFiles: userAllowlistFile ? [userAllowlistFile] : [],
    }),
    ...(nowMs !== undefined ? { nowMs } : {}),
  });
}

export async function createDetector(options: DetectorOptions = {}): Promise<CartographerDetector> {
  return (await createDetectorFactory(options))();
}

/**
 * Loads and compiles the rules once; each call of the result is a fresh detector on them (its own
 * cross-session threshold history), for analyses that must not depend on each other (one SQS object each).
 */
export async function createDetectorFactory(
  options: DetectorOptions = {},
): Promise<() => CartographerDetector> {
  const root = options.rulesDir ?? DEFAULT_RULES_ROOT;
  const store =
    options.allowlist ??
    openAllowListStore({
      globalFile: join(root, 'detections', 'allowlist.yaml'),
      ...(options.allowlistFile ? { userFile: options.allowlistFile } : {}),
    });
  const loaded = loadDetectionRules(root, store.file, options.extraRuleDirs, options.nowMs);
  const build = () =>
    buildDetector(loaded, {
      allow: () => store.current(),
      ...(options.lenient ? { lenient: true } : {}),
    });
  build(); // bad rules are reported now, not at the first analysis
  return build;
}

/** `cartographer rules check` hook: every problem in the detection, Sigma and CloudGrappler rules, as file:line. */
export async function checkDetectionRules(
  rulesRoot: string,
  extraRuleDirs: readonly string[] = [],
): Promise<RuleProblem[]> {
  const loaded = loadDetectionRules(rulesRoot, undefined, extraRuleDirs);
  return [
    ...loaded.problems,
    ...loaded.unsupported.map((u) => ({
      file: u.file,
      line: 1,
      message: `Sigma rule '${u.rule}' is unsupported and not loaded: ${u.reason}`,
      severity: 'warning' as const,
    })),
  ];
}

export { errorsOf };
