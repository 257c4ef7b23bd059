/**
 * Scores the bundled rules on Panther-style case files, each case scanned on its own:
 *
 *   node bin/run-ts.js test/support/panther-eval.ts [--details] FILE.jsonl…
 *
 * Prints recall on the positives and the false-alarm rate on the negatives, then (with --details) every missed
 * positive and alarmed negative. Meant for hold-out sets kept outside the repository.
 */
import { createDetector } from '../../adapters/rules/detection-rules.ts';
import { createEnricherFactory } from '../../enrichment/index.ts';
import { evaluateCase, formatSummary, readCases, summarise } from './panther-cases.ts';

const args = process.argv.slice(2);
const details = args.includes('--details');
const files = args.filter((a) => !a.startsWith('--'));
const detector = await createDetector();
const makeEnricher = await createEnricherFactory();
const results = [];
for (const c of readCases(files)) results.push(await evaluateCase(c, detector, async () => makeEnricher()));
console.log(formatSummary(files.join(' + '), summarise(results)));
if (details) {
  for (const r of results.filter((x) => x.expected && !x.flagged))
    console.log(`MISSED  ${r.ruleId} | ${r.test}${r.coerced ? `  [${r.coerced}]` : ''}`);
  for (const r of results.filter((x) => !x.expected && x.alarmed))
    console.log(`ALARM   ${r.ruleId} | ${r.test} | ${r.findings.join(' ')}`);
}
