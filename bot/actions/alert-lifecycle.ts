/**
 * The lifecycle buttons of an alert message: Acknowledge, Assign to… (user picker), Resolve as…
 * (outcome picker) and Reopen. Each click reads the alert's case, applies the transition (or says
 * why it does not apply), stores it only if nobody changed the case meanwhile, updates the alert
 * message in place, and refreshes the App Home of whoever is concerned. The click itself is audited
 * by the bot's click handler with the change as detail (`open → acknowledged`).
 */
import type { Button, HeaderBlock } from '@slack/types';
import type { SchedulerState } from '../../adapters/state/scheduler-state.ts';
import { type AlertCase, CASE_OUTCOMES } from '../../adapters/state/triage-store.ts';
import { newId } from '../lookup/run-lookup.ts';
import { titleFromHeader, withCase } from '../messages/alert.ts';
import { infoMessage } from '../messages/notices.ts';
import type { CommandResult } from '../types.ts';
import { type CaseCommand, OUTCOME_LABEL, transition } from './case-transitions.ts';
import type { ClickContext } from './handlers.ts';
import { refreshHomes } from './home.ts';
import { ACTION_SHOW_RAW, ALERT_CASE_BLOCK_PREFIX } from './ids.ts';
import { StaleReference } from './resolve.ts';

export interface LifecycleDeps {
  /** The scheduler's ledger: an alert posted before cases existed gets its case from its row. */
  ledger: Pick<SchedulerState, 'getAlert'>;
}

/** The command a lifecycle click means: from the button, or from the picked user or outcome. */
export function commandOf(kind: CaseCommand['kind'], ctx: ClickContext): CaseCommand {
  if (kind === 'assign') {
    if (!ctx.selected || !/^[UW][A-Z0-9]{2,}$/.test(ctx.selected))
      throw new StaleReference('pick someone to assign the alert to');
    return { kind, assignee: ctx.selected };
  }
  if (kind === 'resolve') {
    const outcome = CASE_OUTCOMES.find((o) => o === ctx.selected);
    if (!outcome) throw new StaleReference('pick an outcome to resolve the alert with');
    return { kind, outcome };
  }
  return { kind };
}

export async function changeAlert(
  ctx: ClickContext,
  kind: CaseCommand['kind'],
  deps: LifecycleDeps,
): Promise<CommandResult> {
  const svc = ctx.svc;
  const key = alertKeyOf(ctx);
  const command = commandOf(kind, ctx);
  const current = (await svc.triage.getCase(key)) ?? (await caseFromLedger(key, ctx, deps));
  if (!current)
    throw new StaleReference('this alert is no longer known (its ledger row was pruned); nothing to change');
  if (current.channel !== ctx.channelId)
    throw new StaleReference('this button belongs to a message in another channel');
  const t = transition(current, command, ctx.userId, Date.now());
  if ('refused' in t) {
    await ctx.reply?.(infoMessage(`Nothing changed: ${t.refused}.`));
    return { outcome: 'ok', detail: `alert ${key}: ${kind} refused (${t.refused})` };
  }
  const saved = await svc.triage.changeCase(t.next, current.version);
  if (!saved) {
    const now = await svc.triage.getCase(key);
    if (now) await updateMessage(ctx, now);
    await ctx.reply?.(
      infoMessage('Someone changed this alert at the same moment; the message shows where it stands now.'),
    );
    return { outcome: 'ok', detail: `alert ${key}: ${kind} lost a race (version ${current.version})` };
  }
  await updateMessage(ctx, saved);
  void refreshHomes([ctx.userId, saved.assignee, current.assignee], svc);
  return { outcome: 'ok', detail: `alert ${key}: ${describeChange(current, saved)}` };
}

/** `open → acknowledged`, `acknowledged → resolved (benign)`, `assigned to U…`. */
export function describeChange(from: AlertCase, to: AlertCase): string {
  const state = (c: AlertCase) =>
    c.state === 'resolved' ? `resolved (${OUTCOME_LABEL[c.outcome ?? 'true-positive']})` : c.state;
  const parts = [
    from.state === to.state && from.outcome === to.outcome ? state(to) : `${state(from)} → ${state(to)}`,
  ];
  if (from.assignee !== to.assignee) parts.push(`assigned to ${to.assignee ?? 'nobody'}`);
  return `${to.lastAction} by ${to.lastBy}: ${parts.join(', ')}`;
}

function alertKeyOf(ctx: ClickContext): string {
  const fromBlock = ctx.blockId?.startsWith(ALERT_CASE_BLOCK_PREFIX)
    ? ctx.blockId.slice(ALERT_CASE_BLOCK_PREFIX.length)
    : undefined;
  const key = fromBlock ?? ctx.value?.split('.')[0];
  if (!key || !/^[0-9a-f]{24}$/.test(key)) throw new StaleReference('this button carries no alert reference');
  return key;
}

async function caseFromLedger(
  key: string,
  ctx: ClickContext,
  deps: LifecycleDeps,
): Promise<AlertCase | undefined> {
  const row = await deps.ledger.getAlert(key);
  if (!row?.ts || row.state !== 'posted') return undefined;
  const header = ctx.message?.blocks?.find((b): b is HeaderBlock => b.type === 'header')?.text?.text;
  await ctx.svc.triage.openCase({
    key,
    channel: row.channel,
    ts: row.ts,
    ruleId: row.ruleId,
    title: titleFromHeader(header) ?? row.ruleId,
    severity: row.severity,
    principal: row.principal,
    eventAt: row.eventAt,
    lastAt: row.createdAt,
  });
  return ctx.svc.triage.getCase(key);
}

/** The alert message, updated in place from the message Slack sent with the click. */
async function updateMessage(ctx: ClickContext, c: AlertCase): Promise<void> {
  if (!ctx.message) return;
  const benignRef = c.state === 'resolved' && c.outcome === 'benign' ? await benignRefFor(ctx) : undefined;
  await ctx.svc.poster.update(c.channel, c.ts, withCase(ctx.message, c, benignRef));
}

/**
 * A "Mark benign" reference for the alert's finding, made from its "Show raw events" reference (the
 * stored evidence): the existing Mark benign modal and allow-list write then do the rest.
 */
async function benignRefFor(ctx: ClickContext): Promise<string | undefined> {
  const raw = (ctx.message?.blocks ?? [])
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e): e is Button => e.type === 'button' && e.action_id === ACTION_SHOW_RAW)?.value;
  const ref = raw ? await ctx.svc.store.getRef(raw) : undefined;
  if (!ref) return undefined;
  const session = await ctx.svc.store.getSession(ref.sessionId);
  const findings =
    (session?.summary as { findings?: { id: string; ruleId: string }[] } | undefined)?.findings ?? [];
  const finding = findings.find((f) => f.id === ref.extra?.findingId) ?? findings[0];
  const id = newId();
  await ctx.svc.store.saveRef({
    id,
    action: 'benign',
    sessionId: ref.sessionId,
    eventIds: ref.eventIds,
    extra: finding ? { findingId: finding.id, ruleId: finding.ruleId } : {},
    createdAt: new Date().toISOString(),
  });
  return id;
}
