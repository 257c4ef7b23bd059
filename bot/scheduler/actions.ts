/**
 * The scheduler's buttons, run by the bot's click handler (which acknowledges, re-authorises and
 * audits): "Open session" on a digest posts that session's full summary into the digest's thread;
 * "Snooze 1h / 24h / 7d" on an alert mutes that rule for that principal.
 */
import type { ClickContext } from '../actions/handlers.ts';
import { resolveRef, StaleReference } from '../actions/resolve.ts';
import { postThread, refMaker } from '../lookup/run-lookup.ts';
import { buildSnoozeNote, SNOOZE_CHOICES } from '../messages/alert.ts';
import { buildHeadline } from '../messages/headline.ts';
import type { CommandResult } from '../types.ts';
import { SOURCE_LABEL } from './digest-job.ts';
import type { Scheduler } from './scheduler.ts';

export async function openDigestSession(ctx: ClickContext): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'open_session', ctx.svc, ctx.channelId);
  const makeRef = refMaker(r.session.id, ctx.svc);
  const headline = buildHeadline(
    { session: r.summary, sourceLabel: SOURCE_LABEL[r.session.query.source] ?? r.session.query.source },
    makeRef,
  );
  await makeRef.flush();
  // Slack threads do not nest: the summary and its details all go into the digest's thread.
  await ctx.svc.poster.post(ctx.channelId, headline, ctx.threadTs);
  await postThread(r.summary, r.records, ctx.threadTs, ctx.channelId, makeRef, ctx.svc);
  return { outcome: 'ok', detail: `session ${r.summary.key}` };
}

export async function snoozeAlert(
  ctx: ClickContext,
  scheduler: Scheduler,
  label: (typeof SNOOZE_CHOICES)[number]['label'],
): Promise<CommandResult> {
  const choice = SNOOZE_CHOICES.find((c) => c.label === label);
  const row =
    ctx.value && /^[0-9a-f]{24}$/.test(ctx.value) ? await scheduler.state.getAlert(ctx.value) : undefined;
  if (!choice || !row) throw new StaleReference('this alert is no longer in the ledger; nothing to snooze');
  const until = scheduler.clock.now() + choice.ms;
  await scheduler.state.snooze(row.ruleId, row.principal, until, ctx.userId);
  await ctx.svc.poster.post(
    ctx.channelId,
    buildSnoozeNote(ctx.userId, row.ruleId, row.principal, until),
    ctx.threadTs,
  );
  return { outcome: 'ok', detail: `snoozed ${row.ruleId} for ${row.principal} ${label}` };
}
