/**
 * Packs lines of mrkdwn into section blocks and sections into messages so that every piece stays
 * inside Slack's limits (see limits.ts): a section under 3,000 characters, a message under
 * about 8,000 characters of text and 50 blocks. Order is preserved.
 */
import type { ContextBlock, SectionBlock } from '@slack/types';
import { clip } from './format.ts';
import { type Block, LIMITS } from './limits.ts';

/** Room left in a section for Slack's own escaping and a safety margin. */
export const SECTION_BUDGET = LIMITS.sectionText - 100;

/** Groups lines into section texts of at most ~2,900 characters; an over-long line is clipped. */
export function packSections(lines: string[], budget = SECTION_BUDGET): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of lines) {
    const line = clip(raw, budget);
    if (cur && cur.length + 1 + line.length > budget) {
      out.push(cur);
      cur = line;
    } else {
      cur = cur ? `${cur}\n${line}` : line;
    }
  }
  if (cur) out.push(cur);
  return out;
}

export function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function context(text: string): ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, LIMITS.contextElementText) }] };
}

/**
 * Groups blocks into messages: each group keeps `reserveBlocks` / `reserveChars` free for the
 * header and footer blocks the caller adds.
 */
export function groupBlocks(
  blocks: Block[],
  sizeOf: (b: Block) => number,
  reserveBlocks = 4,
  reserveChars = 600,
): Block[][] {
  const maxBlocks = LIMITS.blocksPerMessage - reserveBlocks;
  const maxChars = LIMITS.messageTextSplit - reserveChars;
  const groups: Block[][] = [];
  let cur: Block[] = [];
  let chars = 0;
  for (const b of blocks) {
    const n = sizeOf(b);
    if (cur.length > 0 && (cur.length + 1 > maxBlocks || chars + n > maxChars)) {
      groups.push(cur);
      cur = [];
      chars = 0;
    }
    cur.push(b);
    chars += n;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}
