/**
 * Everything the bot sends to Slack goes through here: redaction (last line of defence; builders
 * already redact what they take from records), the limit checker, and the plain-text fallback.
 * Rate limits (HTTP 429 + Retry-After) are retried by the WebClient itself (see app.ts retryConfig).
 */
import type { KnownBlock, WebClient } from '@slack/web-api';
import { assertWithinLimits, type SlackMessage } from './messages/limits.ts';
import { redact, redactText } from './redact.ts';

export interface Poster {
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<string>;
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
  upload(
    channel: string,
    threadTs: string,
    file: { filename: string; content: string; comment: string },
  ): Promise<void>;
}

export function createPoster(client: WebClient): Poster {
  return {
    post: (channel, message, threadTs) => postMessage(client, channel, message, 'message', threadTs),
    async update(channel, ts, message) {
      const safe = prepare(message, 'update');
      await client.chat.update({ channel, ts, text: safe.text, blocks: (safe.blocks ?? []) as KnownBlock[] });
    },
    async upload(channel, threadTs, file) {
      await client.filesUploadV2({
        channel_id: channel,
        thread_ts: threadTs,
        filename: file.filename,
        title: file.filename,
        content: redactText(file.content),
        initial_comment: redactText(file.comment),
      });
    },
  };
}

/**
 * chat.postMessage of a prepared (redacted, limit-checked) message, without link previews; returns its ts.
 * `metadata` lets a post be found again later (see scheduler/slack-outbox.ts).
 */
export async function postMessage(
  client: WebClient,
  channel: string,
  message: SlackMessage,
  what: string,
  threadTs?: string,
  metadata?: { event_type: string; event_payload: Record<string, string | number | boolean> },
): Promise<string> {
  const safe = prepare(message, what);
  const res = await client.chat.postMessage({
    channel,
    text: safe.text,
    ...(safe.blocks ? { blocks: safe.blocks as KnownBlock[] } : {}),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    ...(metadata ? { metadata } : {}),
    unfurl_links: false,
    unfurl_media: false,
  });
  if (!res.ts) throw new Error('chat.postMessage returned no ts');
  return res.ts;
}

/** The error code of a failed Web API call (`not_in_channel`, `ratelimited`, …), if Slack gave one. */
export function slackErrorCode(err: unknown): string | undefined {
  return (err as { data?: { error?: string } } | undefined)?.data?.error;
}

/** Whether a post failed because the bot is not in the channel (the fix: invite it). */
export function isNotInChannel(code: string | undefined): boolean {
  return code === 'not_in_channel' || code === 'channel_not_found';
}

export function prepare(message: SlackMessage, what: string): SlackMessage {
  const safe = redact(message);
  assertWithinLimits(safe, what);
  return safe;
}
