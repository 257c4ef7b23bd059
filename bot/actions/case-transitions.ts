/**
 * The alert lifecycle as pure functions: what each button does to a case, or why it does nothing.
 *
 *   open ──Acknowledge──▶ acknowledged ──Resolve (outcome)──▶ resolved ──Reopen──▶ open
 *     └──────Assign (someone holds it: acknowledged)──┘              ▲
 *     └──────────────────────Resolve (outcome)───────────────────────┘
 */
import type { AlertCase, CaseOutcome } from '../../adapters/state/triage-store.ts';

export type CaseCommand =
  | { kind: 'acknowledge' }
  | { kind: 'assign'; assignee: string }
  | { kind: 'resolve'; outcome: CaseOutcome }
  | { kind: 'reopen' };

export type Transition = { next: AlertCase } | { refused: string };

export const OUTCOME_LABEL: Record<CaseOutcome, string> = {
  'true-positive': 'true positive',
  benign: 'benign',
  duplicate: 'duplicate',
  'follow-up': 'needs follow-up',
};

/** The case after `command` by `by` at `at` (epoch ms), or the reason it does not apply. */
export function transition(c: AlertCase, command: CaseCommand, by: string, at: number): Transition {
  const base = { ...c, lastBy: by, lastAt: at };
  switch (command.kind) {
    case 'acknowledge':
      if (c.state === 'resolved') return { refused: 'this alert is resolved; reopen it first' };
      if (c.state === 'acknowledged') return { refused: `already acknowledged${who(c.acknowledgedBy)}` };
      return {
        next: {
          ...base,
          state: 'acknowledged',
          acknowledgedBy: by,
          acknowledgedAt: at,
          lastAction: 'acknowledged',
        },
      };
    case 'assign':
      if (c.state === 'resolved') return { refused: 'this alert is resolved; reopen it first' };
      if (c.assignee === command.assignee) return { refused: `already assigned to <@${command.assignee}>` };
      return {
        next: {
          ...base,
          state: 'acknowledged',
          assignee: command.assignee,
          acknowledgedBy: c.acknowledgedBy ?? by,
          acknowledgedAt: c.acknowledgedAt ?? at,
          lastAction: 'assigned',
        },
      };
    case 'resolve':
      if (c.state === 'resolved')
        return { refused: `already resolved as ${OUTCOME_LABEL[c.outcome ?? 'true-positive']}` };
      return { next: { ...base, state: 'resolved', outcome: command.outcome, lastAction: 'resolved' } };
    case 'reopen': {
      if (c.state !== 'resolved') return { refused: 'this alert is not resolved' };
      const { outcome: _o, acknowledgedBy: _b, acknowledgedAt: _a, ...rest } = base;
      return { next: { ...rest, state: 'open', lastAction: 'reopened' } };
    }
  }
}

function who(user: string | undefined): string {
  return user ? ` by <@${user}>` : '';
}
