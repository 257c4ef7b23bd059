/** The "Mark benign" modal: why, and how wide the exception is. */

import type { PlainTextOption } from '@slack/types';
import type { Finding, SessionSummary } from '../../engine/model.ts';
import {
  BENIGN_REASON_BLOCK,
  BENIGN_REASON_INPUT,
  BENIGN_SCOPE_BLOCK,
  BENIGN_SCOPE_INPUT,
  VIEW_MARK_BENIGN,
} from '../actions/ids.ts';
import { bold, clip, esc } from './format.ts';
import type { BotModalView } from './limits.ts';

export interface BenignModalMeta {
  ref: string;
  channel: string;
  threadTs: string;
}

export function buildBenignModal(
  meta: BenignModalMeta,
  finding: Finding | undefined,
  session: SessionSummary,
): BotModalView {
  const who = session.principal.arn ?? session.principal.issuerArn ?? session.key;
  const ip = session.sourceIps.length === 1 ? session.sourceIps[0] : undefined;
  const options: PlainTextOption[] = [
    option(clip(`This rule, for this principal`, 75), 'rule-principal'),
    ...(ip ? [option(clip(`This rule, from ${ip}`, 75), 'rule-ip')] : []),
    option('Every rule, for this principal', 'principal'),
  ];
  return {
    type: 'modal',
    callback_id: VIEW_MARK_BENIGN,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Mark benign' },
    submit: { type: 'plain_text', text: 'Mark benign' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clip(
            `${bold(finding?.title ?? 'Finding')}\n${esc(finding?.ruleId ?? '')} · ${esc(who)}`,
            2900,
          ),
        },
      },
      {
        type: 'input',
        block_id: BENIGN_SCOPE_BLOCK,
        label: { type: 'plain_text', text: 'Allow' },
        element: {
          type: 'static_select',
          action_id: BENIGN_SCOPE_INPUT,
          options,
          initial_option: options[0],
        },
      },
      {
        type: 'input',
        block_id: BENIGN_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Why is this benign?' },
        element: {
          type: 'plain_text_input',
          action_id: BENIGN_REASON_INPUT,
          multiline: true,
          min_length: 5,
          max_length: 500,
          placeholder: { type: 'plain_text', text: 'e.g. approved red-team exercise, ticket SEC-1234' },
        },
      },
    ],
  };
}

function option(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text }, value };
}
