/** Action and view ids shared by the message builders (which put them on buttons) and the handlers. */
export const ACTION_SHOW_RAW = 'cartographer_show_raw';
export const ACTION_ALL_ACTIONS = 'cartographer_all_actions';
export const ACTION_MARK_BENIGN = 'cartographer_mark_benign';
export const VIEW_MARK_BENIGN = 'cartographer_mark_benign_view';
export const BENIGN_REASON_BLOCK = 'benign_reason';
export const BENIGN_REASON_INPUT = 'reason';
export const BENIGN_SCOPE_BLOCK = 'benign_scope';
export const BENIGN_SCOPE_INPUT = 'scope';

/** The alert lifecycle: the actions block carrying these has block_id `ALERT_CASE_BLOCK_PREFIX + alert key`. */
export const ACTION_ALERT_ACK = 'cartographer_alert_ack';
export const ACTION_ALERT_ASSIGN = 'cartographer_alert_assign';
export const ACTION_ALERT_RESOLVE = 'cartographer_alert_resolve';
export const ACTION_ALERT_REOPEN = 'cartographer_alert_reopen';
export const ALERT_CASE_BLOCK_PREFIX = 'cartographer_alert_case.';
/** "Open" on a user/ip overview line: that session's summary in the overview's thread. */
export const ACTION_OPEN = 'cartographer_open';
/** "N more" / "Previous" on a paged thread reply (timeline, findings): the reply is updated in place. */
export const ACTION_PAGE_NEXT = 'cartographer_page_next';
export const ACTION_PAGE_PREV = 'cartographer_page_prev';

export type RefAction = 'raw' | 'all_actions' | 'benign' | 'open_session' | 'page';

/** Creates an opaque reference for a button and returns its id (the button value). */
export type RefMaker = (action: RefAction, eventIds: string[], extra?: Record<string, unknown>) => string;

/**
 * A RefMaker backed by the store: ids come back at once, so message builders stay synchronous; the
 * writes go on in the background and `flush()` must be awaited before the message carrying them is
 * posted (it rethrows a failed write).
 */
export interface StoredRefMaker extends RefMaker {
  flush(): Promise<void>;
}
