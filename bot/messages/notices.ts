/** Short one-off messages: progress, usage errors, refusals, failures, empty results. */
import { context, section } from './chunk.ts';
import { bold, clip, esc, mention } from './format.ts';
import type { SlackMessage } from './limits.ts';

export function progressMessage(line: string): SlackMessage {
  const text = clip(line, 500);
  return { text, blocks: [context(`:hourglass_flowing_sand: ${esc(text)}`)] };
}

export function usageMessage(problem: string, usage: string): SlackMessage {
  const text = clip(`${problem}. Usage: ${usage}`, 1000);
  return {
    text,
    blocks: [section(`:warning: ${esc(clip(problem, 500))}\n*Usage:* \`${esc(clip(usage, 500))}\``)],
  };
}

export function refusalMessage(reason: string): SlackMessage {
  const text = clip(`Not allowed: ${reason}`, 500);
  return { text, blocks: [section(`:no_entry: ${esc(text)}`)] };
}

/** A failure an analyst can act on: what went wrong and what to change. */
export function failureMessage(what: string, hint?: string): SlackMessage {
  const text = clip(`${what}${hint ? ` — ${hint}` : ''}`, 1500);
  const body = `:x: ${bold(what, 600)}${hint ? `\n*What to do:* ${esc(clip(hint, 1200))}` : ''}`;
  return { text, blocks: [section(body)] };
}

export function noResultsMessage(what: string, hint: string): SlackMessage {
  const text = clip(`No events for ${what}`, 500);
  return { text, blocks: [section(`:mag: No events for ${esc(clip(what, 300))}.\n${esc(clip(hint, 800))}`)] };
}

export function infoMessage(line: string): SlackMessage {
  const text = clip(line, 1000);
  return { text, blocks: [context(esc(text))] };
}

/**
 * The thread's note that a finding was marked benign: the analyst as a real mention, what they typed
 * (reason) and what the entry covers escaped, so neither can mention or link anyone.
 */
export function markedBenignMessage(userId: string, scope: string, reason: string): SlackMessage {
  const line =
    `Marked benign by ${mention(userId)}: ${clip(esc(scope), 400)}. ` +
    `Reason: ${clip(esc(reason), 500)}. Later lookups and scans will not raise it.`;
  return { text: line, blocks: [context(line)] };
}
