/** The "Mark benign" modal's submission: validated (a reason), authorised, recorded in the allow-list, audited. */
import type { App } from '@slack/bolt';
import { metrics } from '../../adapters/observability/metrics.ts';
import { type BenignScope, submitBenign } from '../actions/handlers.ts';
import {
  BENIGN_REASON_BLOCK,
  BENIGN_REASON_INPUT,
  BENIGN_SCOPE_BLOCK,
  BENIGN_SCOPE_INPUT,
  VIEW_MARK_BENIGN,
} from '../actions/ids.ts';
import type { BenignModalMeta } from '../messages/benign-modal.ts';
import { failureMessage, refusalMessage } from '../messages/notices.ts';
import type { CommandResult } from '../types.ts';
import { errorSummary, type ListenerContext } from './context.ts';

export function registerBenignModal(app: App, lc: ListenerContext): void {
  app.view(VIEW_MARK_BENIGN, async ({ ack, body, view }) => {
    const started = Date.now();
    const userId = body.user.id;
    const values = view.state.values;
    const reason = (values[BENIGN_REASON_BLOCK]?.[BENIGN_REASON_INPUT]?.value ?? '').trim();
    const scope = (values[BENIGN_SCOPE_BLOCK]?.[BENIGN_SCOPE_INPUT]?.selected_option?.value ??
      'rule-principal') as BenignScope;
    const meta = parseMeta(view.private_metadata);
    if (reason.length < 5) {
      await ack({
        response_action: 'errors',
        errors: { [BENIGN_REASON_BLOCK]: 'Say why, in at least 5 characters.' },
      });
      return;
    }
    await ack();
    const work = lc.requests.asRequest('view', () => submit(lc, meta, reason, scope, userId));
    lc.requests.track(
      work.then((result) => {
        metrics.commands.inc({ command: 'modal:mark benign', outcome: result.outcome });
        lc.audit.record({
          who: userId,
          team: body.team?.id,
          where: meta?.channel ?? '',
          what: `submit mark benign: ${reason}`,
          outcome: result.outcome,
          durationMs: Date.now() - started,
          ...(result.detail ? { detail: result.detail } : {}),
        });
      }),
    );
  });
}

function parseMeta(text: string): BenignModalMeta | undefined {
  try {
    return JSON.parse(text) as BenignModalMeta;
  } catch {
    return undefined;
  }
}

async function submit(
  lc: ListenerContext,
  meta: BenignModalMeta | undefined,
  reason: string,
  scope: BenignScope,
  userId: string,
): Promise<CommandResult> {
  if (!meta) return { outcome: 'error', detail: 'modal without metadata' };
  const { poster } = lc.services;
  const decision = await lc.authz.check(userId, meta.channel);
  if (!decision.allowed) {
    await poster
      .post(meta.channel, refusalMessage(`<@${userId}>: ${decision.reason}`), meta.threadTs)
      .catch(() => {});
    return { outcome: 'denied', detail: decision.reason };
  }
  try {
    return await submitBenign(meta, reason, scope, userId, lc.services);
  } catch (err) {
    lc.logger.error({ err: errorSummary(err) }, 'mark benign failed');
    await poster
      .post(
        meta.channel,
        failureMessage('Could not record the benign mark', errorSummary(err).message),
        meta.threadTs,
      )
      .catch(() => {});
    return { outcome: 'error', detail: errorSummary(err).message };
  }
}
