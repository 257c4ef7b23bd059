/**
 * The stand-in's in-memory workspace: channels, users, messages (threads via thread_ts), ephemeral
 * messages, files, modals, and a log of every Web API call. Plain data so `GET /api/state` can
 * serialise it for the playground page.
 */
import { EventEmitter } from 'node:events';

export interface StandinUser {
  id: string;
  name: string;
}

export interface StandinChannel {
  id: string;
  name: string;
  /** Whether the bot was invited (posting elsewhere fails with not_in_channel, as in Slack). */
  botMember: boolean;
}

export interface StandinMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  /** Bot user id for the bot's messages. */
  user: string;
  bot: boolean;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
  blocks?: any[];
  files?: string[];
  /** Message metadata (`event_type`, `event_payload`), returned with include_all_metadata. */
  // biome-ignore lint/suspicious/noExplicitAny: metadata JSON as received
  metadata?: any;
  /** Earlier versions (chat.update), oldest first. */
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
  history: { text: string; blocks?: any[] }[];
}

export interface StandinEphemeral {
  seq: number;
  /** When the stand-in received it (ms since the epoch): orders it among messages after a reload. */
  at: number;
  /** The message_ts Slack gives an ephemeral message; button clicks on it carry this ts. */
  ts: string;
  /** The thread it was shown in, if any (clicks on its buttons carry it, as in Slack). */
  thread_ts?: string;
  channel: string;
  user: string;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
  blocks?: any[];
  via: 'response_url' | 'chat.postEphemeral';
}

export interface StandinFile {
  id: string;
  name: string;
  title?: string;
  length?: number;
  content?: string;
  channel?: string;
  thread_ts?: string;
  initial_comment?: string;
  complete: boolean;
}

export interface StandinView {
  id: string;
  user: string;
  open: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
  view: any;
}

/** A user's App Home tab as the app last published it (views.publish). */
export interface StandinHome {
  user: string;
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as received
  view: any;
  /** When it was published (ms since the epoch). */
  at: number;
}

export interface ApiCall {
  seq: number;
  method: string;
  // biome-ignore lint/suspicious/noExplicitAny: arguments as received (token removed)
  args: Record<string, any>;
  ok: boolean;
  error?: string;
  status: number;
}

/** What the stand-in sent to the bot (commands, clicks, submissions) and what came back. */
export interface Delivery {
  seq: number;
  /** When the stand-in sent it (ms since the epoch). */
  at: number;
  kind: 'command' | 'click' | 'view_submission' | 'event';
  user: string;
  channel?: string;
  summary: string;
  status: number;
  body: string;
}

export type StandinEvent =
  | { type: 'message'; message: StandinMessage }
  | { type: 'update'; message: StandinMessage }
  | { type: 'ephemeral'; ephemeral: StandinEphemeral }
  /** Without `content` (see describeFile): the bytes are at `GET /files/<id>`. */
  | { type: 'file'; file: StandinFile & { hasContent?: boolean } }
  | { type: 'view'; view: StandinView }
  | { type: 'home'; home: StandinHome }
  | { type: 'delivery'; delivery: Delivery };

export class StandinState extends EventEmitter {
  readonly team = { id: 'T0CARTOGR', domain: 'cartographer-playground', name: 'Cartographer Playground' };
  readonly bot = { userId: 'U0CARTOBOT', botId: 'B0CARTOBOT', appId: 'A0CARTOGR', name: 'cartographer' };
  readonly users: StandinUser[] = [
    { id: 'U0ANALYST1', name: 'alice' },
    { id: 'U0ANALYST2', name: 'bob' },
    { id: 'U0OUTSIDER', name: 'mallory' },
  ];
  readonly channels: StandinChannel[] = [
    { id: 'C0SOCTRIAGE', name: 'soc-triage', botMember: true },
    { id: 'C0SOCALERTS', name: 'soc-alerts', botMember: true },
    { id: 'C0GENERAL', name: 'general', botMember: true },
    { id: 'C0NOBOT', name: 'random', botMember: false },
  ];
  readonly usergroups = new Map<string, string[]>([['S0SOCTEAM', ['U0ANALYST1', 'U0ANALYST2']]]);
  readonly messages: StandinMessage[] = [];
  readonly ephemerals: StandinEphemeral[] = [];
  readonly files = new Map<string, StandinFile>();
  readonly views = new Map<string, StandinView>();
  /** App Home tabs by user id. */
  readonly homes = new Map<string, StandinHome>();
  readonly calls: ApiCall[] = [];
  readonly deliveries: Delivery[] = [];
  private seq = 0;
  private lastTs = 0;

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Slack timestamps: seconds.microseconds, unique and increasing per workspace. */
  nextTs(): string {
    const now = Date.now() * 1000;
    this.lastTs = Math.max(now, this.lastTs + 1);
    return `${Math.floor(this.lastTs / 1e6)}.${String(this.lastTs % 1e6).padStart(6, '0')}`;
  }

  nextId(prefix: string): string {
    return `${prefix}0${this.nextSeq().toString(36).toUpperCase().padStart(8, '0')}`;
  }

  channel(idOrName: string): StandinChannel | undefined {
    const key = idOrName.replace(/^#/, '');
    return this.channels.find((c) => c.id === key || c.name === key);
  }

  user(idOrName: string): StandinUser | undefined {
    return this.users.find((u) => u.id === idOrName || u.name === idOrName);
  }

  message(channel: string, ts: string): StandinMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  findMessage(ts: string): StandinMessage | undefined {
    return this.messages.find((m) => m.ts === ts);
  }

  findEphemeral(ts: string): StandinEphemeral | undefined {
    return this.ephemerals.find((e) => e.ts === ts);
  }

  /** Parent messages of a channel, oldest first. */
  channelMessages(channel: string): StandinMessage[] {
    return this.messages.filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts));
  }

  /** Replies in a thread, oldest first. */
  thread(channel: string, parentTs: string): StandinMessage[] {
    return this.messages.filter(
      (m) => m.channel === channel && m.thread_ts === parentTs && m.ts !== parentTs,
    );
  }

  emitEvent(event: StandinEvent): void {
    // Raw-event files run to megabytes: listeners get the description, the page fetches /files/<id>.
    this.emit('event', event.type === 'file' ? { type: 'file', file: describeFile(event.file) } : event);
  }

  snapshot() {
    return {
      team: this.team,
      bot: this.bot,
      users: this.users,
      channels: this.channels,
      messages: this.messages,
      ephemerals: this.ephemerals,
      files: [...this.files.values()].map(describeFile),
      views: [...this.views.values()],
      homes: [...this.homes.values()],
      deliveries: this.deliveries,
    };
  }
}

/** A file without its bytes (served separately at `/files/<id>`). */
export function describeFile(file: StandinFile): StandinFile & { hasContent: boolean } {
  const { content, ...rest } = file;
  return { ...rest, hasContent: content !== undefined };
}
