/**
 * Calls that are not console clicks, in plain words (rules/signals/programmatic.yaml):
 * - per tool run (the tool from the enrichment's user-agent classifier, else the console families;
 *   a run ends after `runGapSeconds` of quiet, and some tools mark each run in their user agent),
 * - reads in bursts become one line per service: "Listed EC2 instances, volumes and addresses in us-east-1",
 *   or "Enumerated IAM: users, roles, …" when a burst reads many different calls of one service,
 * - every write stays its own line, repeats of the same call merged: "Created IAM role ×2: a, b",
 * - a deployment tool's run gets a header over its reads: "Terraform apply: 14 changes".
 * One linear pass; words per call and tool per user agent are worked out once.
 */
import type { EngineEvent } from '../model.ts';
import { type FallbackSignal, fallbackSignal } from './fallback-types.ts';
import type { LabelledEvent } from './labeller.ts';
import { mapFor } from './owner-maps.ts';
import type { Phrases, Tool } from './phrases.ts';
import { prefixOf, resourceName } from './resources.ts';
import type { FallbackFile } from './schema.ts';
import { type Resources, readSentence, runHeader, sayList, writeSentence } from './sentences.ts';
import { changesSomething } from './writes.ts';

interface Group {
  members: LabelledEvent[];
  last: number;
}

interface Run {
  tool: Tool;
  deploy?: Tool;
  last: number;
  /** Reads of a deployment run, under its header. */
  reads: LabelledEvent[];
  writes: LabelledEvent[];
  burst: Group | undefined;
  groups: Map<string, Group>;
}

export interface SummaryInput {
  data: FallbackFile;
  phrases: Phrases;
}

const idPart = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '_');

export function summarizeCalls(input: SummaryInput, events: readonly LabelledEvent[]): FallbackSignal[] {
  const { phrases } = input;
  const out: FallbackSignal[] = [];
  const runs = new Map<string, Run>();
  for (const le of events) {
    const t = le.event.time;
    const { tool, deploy, key } = toolOf(phrases, le);
    let run = runs.get(key);
    if (!run || t - run.last > phrases.runGapMs) {
      if (run) closeRun(input, run, out);
      run = { tool, deploy, last: t, reads: [], writes: [], burst: undefined, groups: new Map() };
      runs.set(key, run);
    }
    run.last = t;
    const write = changesSomething(le.event);
    // A write splits the reads around it, so the timeline keeps the order of what happened; a quiet gap
    // ends a burst too. (A deployment run has no bursts: its reads go under its header.)
    const burst = run.burst;
    if (burst && (write || t - burst.last > phrases.burstGapMs)) closeBurst(input, run, burst, out);
    if (write) {
      run.burst = undefined;
      run.writes.push(le);
      let g = run.groups.get(le.key);
      if (g && t - g.last > phrases.runGapMs) {
        out.push(writeLine(input, run, g.members));
        g = undefined;
      }
      if (!g) {
        g = { members: [], last: t };
        run.groups.set(le.key, g);
      }
      g.members.push(le);
      g.last = t;
    } else if (run.deploy) {
      run.reads.push(le);
    } else {
      if (!run.burst) run.burst = { members: [], last: t };
      run.burst.members.push(le);
      run.burst.last = t;
    }
  }
  for (const run of runs.values()) closeRun(input, run, out);
  return out;
}

/** The tool behind an event: an offensive tool, else the enrichment's family, else the console family. */
function toolOf(phrases: Phrases, le: LabelledEvent): ToolRun {
  const enr = le.event.enrichment;
  const id = enr?.offensiveTool ?? enr?.userAgentFamily ?? le.family;
  const terraform = le.family === 'terraform' || enr?.userAgentFamily === 'terraform';
  const choice = choiceOf(phrases, id, terraform);
  const ua = typeof le.event.record.userAgent === 'string' ? le.event.record.userAgent : '';
  const runKey = choice.tool.runKey;
  if (!runKey || !ua) return choice;
  let byUa = choice.byUserAgent.get(ua);
  if (!byUa) {
    byUa = { tool: choice.tool, deploy: choice.deploy, key: `${choice.key}${runKey.exec(ua)?.[1] ?? ''}` };
    if (choice.byUserAgent.size < MAX_USER_AGENTS) choice.byUserAgent.set(ua, byUa);
  }
  return byUa;
}

interface ToolRun {
  tool: Tool;
  deploy?: Tool;
  /** Which run an event joins: tool, deployment tool and the run marker of its user agent. */
  key: string;
}

/** A tool and deployment tool with their run key (without a run marker), and the keys per user agent. */
interface ToolChoice extends ToolRun {
  byUserAgent: Map<string, ToolRun>;
}

/**
 * The tool of each (tool id, terraform or not) worked out once per phrase set, and a tool's run marker once per
 * user agent: no run key text, memo text or tool object built per event.
 */
const choices = new WeakMap<Phrases, Map<string, ToolChoice[]>>();
const MAX_USER_AGENTS = 10_000;
const MAX_TOOL_IDS = 10_000;

function choiceOf(phrases: Phrases, id: string, terraform: boolean): ToolChoice {
  const byId = mapFor(choices, phrases);
  let pair = byId.get(id);
  if (!pair) {
    pair = [];
    if (byId.size < MAX_TOOL_IDS) byId.set(id, pair);
  }
  const slot = terraform ? 1 : 0;
  let choice = pair[slot];
  if (!choice) {
    const tool = phrases.tool(id);
    const deploy = tool.kind === 'deployment' ? tool : terraform ? phrases.tool('terraform') : undefined;
    choice = { tool, deploy, key: `${tool.id}|${deploy?.id ?? ''}|`, byUserAgent: new Map() };
    pair[slot] = choice;
  }
  return choice;
}

function closeRun(input: SummaryInput, run: Run, out: FallbackSignal[]): void {
  if (run.burst) closeBurst(input, run, run.burst, out);
  run.burst = undefined;
  for (const g of run.groups.values()) out.push(writeLine(input, run, g.members));
  run.groups.clear();
  if (run.deploy && run.reads.length > 0) out.push(headerLine(input, run));
}

function closeBurst(input: SummaryInput, run: Run, burst: Group, out: FallbackSignal[]): void {
  if (burst.members.length === 0) return;
  const byService = new Map<string, LabelledEvent[]>();
  for (const le of burst.members) {
    const p = prefixOf(le.key);
    const list = byService.get(p);
    if (list) list.push(le);
    else byService.set(p, [le]);
  }
  if (byService.size > input.phrases.maxServicesPerBurst) {
    out.push(enumerationLine(input, run, burst.members, byService));
  } else {
    for (const [prefix, members] of byService) out.push(readLine(input, run, prefix, members));
  }
  // The run starts a new burst at its next read (a fresh object: no emptied list of another hidden class).
  run.burst = undefined;
}

function resourcesOf(input: SummaryInput, members: readonly LabelledEvent[]): Resources {
  const names = new Set<string>();
  for (const le of members) {
    const r = resourceName(input.data, le.key, le.event);
    if (r !== undefined) names.add(r);
  }
  const prefix = prefixOf(members[0]!.key);
  return { names: [...names], noun: input.data.collapse.resourceNouns[prefix] };
}

function readLine(input: SummaryInput, run: Run, prefix: string, members: LabelledEvent[]): FallbackSignal {
  const text = readSentence(input.phrases, prefix, members, resourcesOf(input, members));
  return signal(input, run, `Read_${idPart(prefix)}`, prefix, members, text, 'read');
}

function enumerationLine(
  input: SummaryInput,
  run: Run,
  members: LabelledEvent[],
  byService: Map<string, LabelledEvent[]>,
): FallbackSignal {
  const { phrases } = input;
  const parts = [...byService].map(([p, list]) => {
    const nouns = [...new Set(list.map((le) => phrases.call(le.key).noun))];
    return `${phrases.service(p)} (${sayList(nouns, 3)})`;
  });
  const name = `Enumerated ${byService.size} services: ${sayList(parts, 6)}`;
  const text = { name, summary: `${name}: ${members.length} read calls.` };
  return signal(input, run, 'Enumerate_services', 'multiple', members, text, 'read');
}

function writeLine(input: SummaryInput, run: Run, members: LabelledEvent[]): FallbackSignal {
  const key = members[0]!.key;
  const text = writeSentence(input.phrases, key, members, resourcesOf(input, members));
  return signal(input, run, `Write_${idPart(key)}`, prefixOf(key), members, text, 'write');
}

function headerLine(input: SummaryInput, run: Run): FallbackSignal {
  const deploy = run.deploy as Tool;
  const { text, mode } = runHeader(input.phrases, deploy, run.reads, run.writes, run.tool);
  return signal(
    input,
    run,
    `Run_${idPart(deploy.id)}_${mode}`,
    prefixOf(run.reads[0]!.key),
    run.reads,
    text,
    'run',
  );
}

function signal(
  input: SummaryInput,
  run: Run,
  id: string,
  prefix: string,
  list: readonly LabelledEvent[],
  text: { name: string; summary: string },
  kind: 'read' | 'write' | 'run',
): FallbackSignal {
  const members: EngineEvent[] = [];
  const regions = new Set<string>();
  let failed = 0;
  let writes = 0;
  for (const le of list) {
    const e = le.event;
    members.push(e);
    if (e.record.errorCode) failed++;
    if (changesSomething(e)) writes++;
    regions.add(e.record.awsRegion ?? 'unknown');
  }
  const said = run.tool.kind !== 'sdk' && run.tool.kind !== 'other' && kind !== 'run';
  const name = said ? `${run.tool.name}: ${text.name}` : text.name;
  // The field order is the JSON's: deployedWith, when there is one, comes right after the tool.
  const details: Record<string, unknown> = run.deploy
    ? { from: 'summary', kind, tool: run.tool.name, deployedWith: run.deploy.name }
    : { from: 'summary', kind, tool: run.tool.name };
  details.eventCount = members.length;
  details.eventNames = tally(list);
  details.userAgentFamily = list[0]!.family;
  details.errorCount = failed;
  details.writeCount = writes;
  details.regions = [...regions].sort();
  const summary = said ? `${run.tool.name}: ${text.summary}` : text.summary;
  const service = prefix === 'multiple' ? 'multiple' : input.phrases.service(prefix);
  return fallbackSignal(id, name, summary, undefined, service, false, members, details);
}

function tally(list: readonly LabelledEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const le of list) out[le.key] = (out[le.key] ?? 0) + 1;
  return out;
}
