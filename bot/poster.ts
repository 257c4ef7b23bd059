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
    async post(channel, message, threadTs) {
      const safe = prepare(message, 'message');
      const res = await client.chat.postMessage({
        channel,
        text: safe.text,
        ...(safe.blocks ? { blocks: safe.blocks as KnownBlock[] } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      if (!res.ts) throw new Error('chat.postMessage returned no ts');
      return res.ts;
    },
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

export function prepare(message: SlackMessage, what: string): SlackMessage {
  const safe = redact(message);
  assertWithinLimits(safe, what);
  return safe;
}
