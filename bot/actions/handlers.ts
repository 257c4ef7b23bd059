/**
 * What the buttons do, once Bolt has acknowledged the click and the user was re-authorised:
 *   Show raw events → the exact records (redacted) in the thread, inline or as a .json file;
 *   All actions     → the timeline again, background actions included;
 *   Open            → a session of a user/ip overview: its summary and details in the overview's thread;
 *   N more / Previous → the next or previous page of a timeline or findings reply, in place;
 *   Mark benign     → a modal asking why; on submit, an allow-list entry and a thread note.
 * (The alert lifecycle buttons are in alert-lifecycle.ts.)
 */

import { postCapped, postThread, refMaker, SOURCE_LABEL } from '../lookup/run-lookup.ts';
import { type BenignModalMeta, buildBenignModal } from '../messages/benign-modal.ts';
import { buildFindingsPage } from '../messages/findings.ts';
import { buildHeadline } from '../messages/headline.ts';
import type { Block, BotModalView, SlackMessage } from '../messages/limits.ts';
import { markedBenignMessage } from '../messages/notices.ts';
import type { PagedView } from '../messages/pager.ts';
import { buildRawEvents } from '../messages/raw-events.ts';
import { buildTimeline, buildTimelinePage } from '../messages/timeline.ts';
import type { BotServices, CommandResult } from '../types.ts';
import { resolveRef, StaleReference } from './resolve.ts';

export interface ClickContext {
  userId: string;
  channelId: string;
  /** Thread the answer goes to: the parent of the clicked message. */
  threadTs: string;
  value: string | undefined;
  svc: BotServices;
  /** The clicked message's ts (what an in-place update replaces). */
  messageTs?: string;
  /** The block the clicked element sits in. */
  blockId?: string;
  /** What a select menu picked: the user of a users_select, the option value of a static_select. */
  selected?: string;
  /** The clicked message as Slack sent it with the click (not sent for ephemeral messages). */
  message?: { text: string; blocks?: Block[] };
  /** Answers only the user who clicked (ephemeral). */
  reply?: (message: SlackMessage) => Promise<void>;
}

export async function showRawEvents(ctx: ClickContext): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'raw', ctx.svc, ctx.channelId);
  const ids = r.ref.eventIds.length > 0 ? r.ref.eventIds : r.session.records.map((x) => x.id);
  const found = ids.map((id) => r.records.get(id)).filter((x) => x !== undefined);
  const finding =
    typeof r.ref.extra?.findingId === 'string'
      ? r.summary.findings.find((f) => f.id === r.ref.extra?.findingId)
      : undefined;
  const label = finding
    ? `${finding.ruleId} in ${r.summary.key}`
    : r.ref.eventIds.length
      ? `${ids.length} events of ${r.summary.key}`
      : r.summary.key;
  const post = buildRawEvents(found, label, ids.length - found.length);
  if (post.kind === 'inline') await ctx.svc.poster.post(ctx.channelId, post.message, ctx.threadTs);
  else await ctx.svc.poster.upload(ctx.channelId, ctx.threadTs, post);
  return { outcome: 'ok', detail: `${found.length} records ${post.kind === 'file' ? 'uploaded' : 'posted'}` };
}

export async function showAllActions(ctx: ClickContext): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'all_actions', ctx.svc, ctx.channelId);
  const makeRef = refMaker(r.session.id, ctx.svc);
  const messages = buildTimeline(r.summary, makeRef, { includeSuppressed: true });
  await makeRef.flush();
  await postCapped(messages, ctx.channelId, ctx.threadTs, `all-actions-${r.summary.key}`, ctx.svc);
  return { outcome: 'ok', detail: `${r.summary.signals.length} actions` };
}

/** "Open" on an overview line: the session's summary, then its details, into the overview's thread. */
export async function openSession(ctx: ClickContext): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'open_session', ctx.svc, ctx.channelId);
  const makeRef = refMaker(r.session.id, ctx.svc);
  const headline = buildHeadline(
    {
      session: r.summary,
      sourceLabel: SOURCE_LABEL[r.session.query.source] ?? r.session.query.source,
      requestedBy: ctx.userId,
      accountName: await ctx.svc.accountNames(),
    },
    makeRef,
  );
  await makeRef.flush();
  // Slack threads do not nest: the summary and its details all go into the overview's thread.
  await ctx.svc.poster.post(ctx.channelId, headline, ctx.threadTs);
  await postThread(r.summary, r.records, ctx.threadTs, ctx.channelId, makeRef, ctx.svc);
  return { outcome: 'ok', detail: `session ${r.summary.key}` };
}

/** "Show N more" / "Previous" on a paged reply: the same message, updated to the other page. */
export async function turnPage(ctx: ClickContext): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'page', ctx.svc, ctx.channelId);
  if (!ctx.messageTs) throw new StaleReference('this page button is not on a message');
  const view = r.ref.extra?.view as PagedView | undefined;
  const page = Number(r.ref.extra?.page ?? 0);
  const makeRef = refMaker(r.session.id, ctx.svc);
  const message =
    view === 'findings'
      ? buildFindingsPage(r.summary, r.records, makeRef, page)
      : buildTimelinePage(r.summary, makeRef, page, { includeSuppressed: view === 'all_actions' });
  await makeRef.flush();
  await ctx.svc.poster.update(ctx.channelId, ctx.messageTs, message);
  return { outcome: 'ok', detail: `${view ?? 'timeline'} page ${page + 1} of ${r.summary.key}` };
}

/** First step of Mark benign: open the modal (needs the click's trigger_id within 3 s). */
export async function openBenignModal(
  ctx: ClickContext,
  triggerId: string,
  openView: (view: BotModalView) => Promise<unknown>,
): Promise<CommandResult> {
  const r = await resolveRef(ctx.value, 'benign', ctx.svc, ctx.channelId);
  const finding = r.summary.findings.find((f) => f.id === r.ref.extra?.findingId);
  const meta: BenignModalMeta = { ref: r.ref.id, channel: ctx.channelId, threadTs: ctx.threadTs };
  await openView(buildBenignModal(meta, finding, r.summary));
  return {
    outcome: 'ok',
    detail: `modal for ${finding?.ruleId ?? 'finding'} (trigger ${triggerId.slice(0, 6)}…)`,
  };
}

export type BenignScope = 'rule-principal' | 'rule-ip' | 'principal';

/** Second step: the analyst submitted a reason. Writes the allow-list entry and tells the thread. */
export async function submitBenign(
  meta: BenignModalMeta,
  reason: string,
  scope: BenignScope,
  userId: string,
  svc: BotServices,
): Promise<CommandResult> {
  const r = await resolveRef(meta.ref, 'benign', svc, meta.channel);
  const finding = r.summary.findings.find((f) => f.id === r.ref.extra?.findingId);
  const ruleId =
    finding?.ruleId ?? (typeof r.ref.extra?.ruleId === 'string' ? r.ref.extra.ruleId : undefined);
  const principal = finding?.principal ?? r.summary.principal.arn ?? r.summary.principal.issuerArn;
  const ip = r.summary.sourceIps.length === 1 ? r.summary.sourceIps[0] : undefined;
  const entry: { ruleId?: string; principal?: string; ip?: string; reason: string; by: string } = {
    reason,
    by: `slack:${userId}`,
  };
  if (scope !== 'principal' && ruleId) entry.ruleId = ruleId;
  if (scope === 'rule-ip' && ip) entry.ip = ip;
  else if (principal) entry.principal = principal;
  // One store for the whole app: the next lookup and the next scheduled scan both honour it.
  svc.allowlist.add(entry);
  // An analyser with stages of its own (not built on the app's store) re-reads the file on its next lookup.
  svc.analyzer.reloadStages();
  await svc.store.recordBenign({
    sessionId: r.session.id,
    reason,
    by: userId,
    at: new Date().toISOString(),
    ...(ruleId ? { ruleId } : {}),
    ...(finding ? { findingId: finding.id } : {}),
    ...(entry.principal ? { principal: entry.principal } : {}),
    ...(entry.ip ? { ip: entry.ip } : {}),
  });
  const scopeText = [
    entry.ruleId ? `rule ${entry.ruleId}` : 'every rule',
    entry.principal ? `for ${entry.principal}` : '',
    entry.ip ? `from ${entry.ip}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  await svc.poster.post(meta.channel, markedBenignMessage(userId, scopeText, reason), meta.threadTs);
  return { outcome: 'ok', detail: scopeText };
}
