/**
 * "N more" for thread replies that would otherwise run to many messages (timeline, findings): the
 * reply shows one page and its buttons update that same message in place with the next or previous
 * page. Button values are stored references (ref action `page`), like every other button.
 */
import type { ActionsBlock, Button } from '@slack/types';
import { ACTION_PAGE_NEXT, ACTION_PAGE_PREV, type RefMaker } from '../actions/ids.ts';
import { clip } from './format.ts';

export type PagedView = 'timeline' | 'all_actions' | 'findings';

export interface PageRef {
  view: PagedView;
  page: number;
}

/** The Previous / "N more" buttons of page `page` of `pages` (none for a single page). */
export function pagerButtons(
  ref: PageRef,
  pages: number,
  moreLabel: string | undefined,
  makeRef: RefMaker,
): Button[] {
  const out: Button[] = [];
  if (ref.page > 0) {
    out.push({
      type: 'button',
      text: { type: 'plain_text', text: '◂ Previous' },
      action_id: ACTION_PAGE_PREV,
      value: makeRef('page', [], { view: ref.view, page: ref.page - 1 }),
    });
  }
  if (ref.page + 1 < pages && moreLabel) {
    out.push({
      type: 'button',
      text: { type: 'plain_text', text: clip(moreLabel, 75) },
      action_id: ACTION_PAGE_NEXT,
      value: makeRef('page', [], { view: ref.view, page: ref.page + 1 }),
    });
  }
  return out;
}

/** An actions block of `elements`, or nothing when there are none (Slack refuses an empty one). */
export function actionsOf(elements: ActionsBlock['elements']): ActionsBlock[] {
  return elements.length > 0 ? [{ type: 'actions', elements }] : [];
}
