/**
 * Raw CloudTrail records for the thread: a code block when they fit in one section, otherwise the
 * caller uploads them as a `.json` file. Records are always redacted here, before any size check,
 * so the size decision is made on what is actually posted.
 */
import type { ContextBlock } from '@slack/types';
import { redact } from '../../engine/redact.ts';
import { section } from './chunk.ts';
import { plural } from './format.ts';
import { LIMITS, type SlackMessage } from './limits.ts';

export type RawEventsPost =
  | { kind: 'inline'; message: SlackMessage }
  | { kind: 'file'; filename: string; content: string; comment: string };

const INLINE_BUDGET = LIMITS.sectionText - 20;

export function buildRawEvents(records: unknown[], label: string, missing = 0): RawEventsPost {
  const clean = records.map((r) => redact(r));
  const missingNote = missing ? ` (${plural(missing, 'event')} no longer cached)` : '';
  const body = clean.length === 1 ? JSON.stringify(clean[0], null, 2) : JSON.stringify(clean, null, 2);
  // Inside a code block only the backtick fence matters; Slack still needs &, <, > escaped.
  const inline = body
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/```/g, '`\u200b``');
  if (inline.length + 8 <= INLINE_BUDGET) {
    const text = `Raw events for ${label}: ${plural(clean.length, 'record')}${missingNote}`;
    return {
      kind: 'inline',
      message: { text, blocks: [section(`\`\`\`${inline}\`\`\``), contextNote(text)] },
    };
  }
  const safeLabel =
    label
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'events';
  return {
    kind: 'file',
    filename: `cartographer-${safeLabel}.json`,
    content: `${JSON.stringify(clean, null, 2)}\n`,
    comment: `Raw events for ${label}: ${plural(clean.length, 'record')}, credentials redacted${missingNote}`,
  };
}

function contextNote(text: string): ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `${text} · credentials redacted` }] };
}
