/**
 * Runs the generated behaviour cases and prints, per Panther rule, how many variants behave as its logic says and
 * which of our rules answer; `--failures` lists each failing variant, `--table` prints the Markdown table of
 * rules/panther-behaviour/README.md.
 *
 *   node bin/run-ts.js test/support/panther-behaviour-report.ts [--failures] [--table] [PANTHER_RULE_ID…]
 */
import { createDetector } from '../../adapters/rules/detection-rules.ts';
import { createEnricherFactory } from '../../enrichment/index.ts';
import { runBehaviours } from './panther-behaviour-run.ts';

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const detector = await createDetector();
const makeEnricher = await createEnricherFactory();
const rows = await runBehaviours(detector, async () => makeEnricher(), only);
let cases = 0;
let bad = 0;
for (const r of rows) {
  cases += r.total;
  bad += r.failures.length;
}
// Rules about the caller (long-term keys) or catch-all context answer in more than a tenth of the rows: left out of the table.
const everywhere = new Set(
  [...new Set(rows.flatMap((r) => r.ours))].filter(
    (id) => rows.filter((r) => r.ours.includes(id)).length * 10 > rows.length,
  ),
);
if (args.includes('--table')) {
  console.log(
    '| Panther rule | Panther severity | behaviour (from its logic) | our rules answering | variants as the logic says |',
  );
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const own = r.ours.filter((id) => !everywhere.has(id));
    const ours = r.spec.notGenerated ? `— (${r.spec.notGenerated})` : own.join(', ') || '—';
    const logic = r.spec.logic.replace(/\|/g, '\\|');
    console.log(
      `| ${r.spec.panther} | ${r.spec.severity} | ${logic} | ${ours} | ${r.total - r.failures.length}/${r.total} |`,
    );
  }
} else {
  for (const r of rows)
    console.log(
      `${r.failures.length ? 'FAIL' : 'ok  '} ${r.spec.panther}: ${r.total - r.failures.length}/${r.total}  ${r.ours.join(' ')}`,
    );
}
if (args.includes('--failures'))
  for (const r of rows)
    for (const f of r.failures)
      console.log(`  ${r.spec.panther} | ${f.variant} | want ${f.want} | got ${f.got}`);
if (args.includes('--table') && everywhere.size)
  console.log(
    `\nAnswering in more than a tenth of the rows (rules about the caller, or catch-all context), so left out above: ${[...everywhere].sort().join(', ')}.\n`,
  );
console.log(`${rows.length} Panther rules, ${cases} generated variants, ${bad} not as the logic says`);
