// Types for blockkit.js (plain browser JavaScript, also imported by the Node tests). Only the string
// functions are usable outside a browser; the DOM ones are typed loosely because the project's
// TypeScript setup has no DOM library. Block Kit types: @slack/types.

import type { AnyBlock, MrkdwnElement, PlainTextElement } from '@slack/types';

/** Slack mrkdwn → HTML (escaped; links only http(s)/mailto). */
export function mrkdwn(text: string): string;
/** A Block Kit text object (`plain_text` or `mrkdwn`) → HTML. */
export function textObject(t: PlainTextElement | MrkdwnElement | undefined): string;
export function escapeHtml(s: unknown): string;
/** How `<@U…>` and `<#C…>` are shown. */
export function setNameResolvers(resolvers: {
  user?: (id: string) => string;
  channel?: (id: string) => string;
}): void;
/** Browser only: renders blocks into a new element; `onAction(element, block, node)` receives clicks. */
export function renderBlocks(
  blocks: readonly AnyBlock[] | undefined,
  onAction: (element: unknown, block: AnyBlock, node: unknown) => void,
): unknown;
/** Browser only: a modal's input values as `{ block_id: { action_id: value } }`, and Slack's client-side errors. */
export function readInputs(root: unknown): {
  values: Record<string, Record<string, string>>;
  errors: Record<string, string>;
};
/** Browser only: shows `{ block_id: message }` under the inputs. */
export function showInputErrors(root: unknown, errors: Record<string, string>): void;
