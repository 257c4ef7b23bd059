/**
 * What the stand-in's parts share: the workspace state, the options it was started with, its own base URL, the
 * bot's request URL, and the short-lived things Slack hands out (response URLs, trigger ids, rate limits).
 */
import type { StandinState } from './state.ts';

export interface StandinOptions {
  signingSecret: string;
  botToken: string;
  /** The bot's request URL (`http://127.0.0.1:3000/slack/events`); can be set later with setBotUrl. */
  botUrl?: string;
  host?: string;
  port?: number;
}

export interface SendResult {
  status: number;
  body: string;
}

export type Json = Record<string, unknown>;

export interface StandinContext {
  state: StandinState;
  options: StandinOptions;
  /** `http://127.0.0.1:<port>` once listening. */
  base: string;
  botUrl: string | undefined;
  rateLimits: Map<string, { count: number; retryAfter: number }>;
  /** Where a response_url posts: the channel and user of the command or click, and a click's thread. */
  responseUrls: Map<string, { channel: string; user: string; thread_ts?: string }>;
  /** trigger_id → user */
  triggers: Map<string, string>;
}
