/**
 * Posting with a receipt. Alerts and digests carry Slack message `metadata` naming their ledger key,
 * so after a crash between "Slack accepted the post" and "the ledger says posted", start-up can ask
 * Slack (conversations.history / conversations.replies) whether the post exists instead of posting
 * it again. Needs the `channels:history` scope (`groups:history` for private channels).
 */
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from '../messages/limits.ts';
import { postMessage } from '../poster.ts';

export const METADATA_EVENT = 'cartographer_post';

export interface OutboxPoster {
  /** Posts (redacted, limit-checked) with `metadata.event_payload.key = key`; returns the ts. */
  post(channel: string, message: SlackMessage, key: string, threadTs?: string): Promise<string>;
  /** The ts of an earlier post carrying `key`, looked up since `oldestMs` (in the thread if given). */
  find(channel: string, key: string, oldestMs: number, threadTs?: string): Promise<string | undefined>;
}

interface HistoryMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

export function createOutboxPoster(client: WebClient): OutboxPoster {
  return {
    post: (channel, message, key, threadTs) =>
      postMessage(client, channel, message, 'scheduled post', threadTs, {
        event_type: METADATA_EVENT,
        event_payload: { key },
      }),
    async find(channel, key, oldestMs, threadTs) {
      const oldest = (Math.max(0, oldestMs) / 1000).toFixed(6);
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = threadTs
          ? await client.conversations.replies({
              channel,
              ts: threadTs,
              oldest,
              include_all_metadata: true,
              limit: 200,
              ...(cursor ? { cursor } : {}),
            })
          : await client.conversations.history({
              channel,
              oldest,
              include_all_metadata: true,
              limit: 200,
              ...(cursor ? { cursor } : {}),
            });
        for (const m of (res.messages ?? []) as HistoryMessage[]) {
          if (m.metadata?.event_type === METADATA_EVENT && m.metadata.event_payload?.key === key) return m.ts;
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return undefined;
      }
      return undefined;
    },
  };
}
