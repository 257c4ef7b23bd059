// The playground page: a Slack-like client for the local Slack stand-in. It only reads the
// stand-in's state (GET /api/state, server-sent events on /api/events) and asks the stand-in to act
// as Slack would (POST /api/command, /api/click, /api/submit); the bot behind it is the real one.
import {
  escapeHtml,
  mrkdwn,
  readInputs,
  renderBlocks,
  setNameResolvers,
  showInputErrors,
} from './blockkit.js';

const $ = (id) => document.getElementById(id);

const ARRIVALS_KEY = `playground.arrivals.${location.host}`;

/** A list kept in browser storage; anything unreadable counts as empty. */
function storedList(storage, key) {
  try {
    const saved = JSON.parse(storage.getItem(key) ?? '[]');
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

/** Everything the page knows; rebuilt from /api/state and kept current by server-sent events. */
const S = {
  team: { name: 'Cartographer Playground' },
  bot: { userId: 'U0CARTOBOT', name: 'cartographer' },
  users: [],
  channels: [],
  /** ts → message (ts is unique across the stand-in's workspace). */
  messages: new Map(),
  ephemerals: [],
  files: new Map(),
  views: new Map(),
  deliveries: [],
  me: localStorage.getItem('playground.user') ?? 'U0ANALYST1',
  channel: 'C0SOCTRIAGE',
  /** ts of the open thread's parent. */
  thread: null,
  dismissed: new Set(),
  closedViews: new Set(),
  /** Commands sent from this page and not yet seen as deliveries. */
  pending: [],
  /** Client-side arrival times (seconds) for items without a Slack ts (see arrival()). */
  arrivals: new Map(storedList(sessionStorage, ARRIVALS_KEY)),
  /** Parent-message and ephemeral counts last seen per channel, for unread badges. */
  seen: new Map(),
  suggestions: [],
  usages: [],
  history: storedList(localStorage, 'playground.history').filter((h) => typeof h === 'string'),
  historyPos: -1,
  helpRequested: false,
  /** Set by a button click: the thread its answer is expected in. */
  follow: null,
};

// ------------------------------------------------------------------ talking to the stand-in

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = { status: res.status, body: text };
  }
  if (!res.ok) throw new Error(data.detail ?? data.error ?? `HTTP ${res.status}`);
  return data;
}

/**
 * Live events that arrive while a snapshot is on its way are kept and applied again on top of it:
 * the snapshot may have been taken before them, and replacing the state would lose them.
 */
let snapshotsInFlight = 0;
let heldEvents = [];

async function loadState() {
  snapshotsInFlight += 1;
  try {
    const res = await fetch('/api/state', { cache: 'no-store' });
    if (!res.ok) throw new Error(`GET /api/state: HTTP ${res.status}`);
    applySnapshot(await res.json());
    for (const event of heldEvents) applyEvent(event);
  } finally {
    snapshotsInFlight -= 1;
    if (snapshotsInFlight === 0) heldEvents = [];
  }
}

function applySnapshot(snap) {
  S.team = snap.team;
  S.bot = snap.bot;
  S.users = snap.users;
  // A user remembered from another stand-in may not exist in this one.
  if (S.users.length && !S.users.some((u) => u.id === S.me)) S.me = S.users[0].id;
  S.channels = snap.channels;
  const before = S.messages;
  S.messages = new Map();
  for (const m of snap.messages) {
    const old = before.get(m.ts);
    S.messages.set(m.ts, withVersion(m, old && same(old, m) ? old._v : undefined));
  }
  // Items without a Slack ts that arrived before this page loaded go after the last message.
  const lastAt = Math.max(0, ...snap.messages.map((m) => Number(m.ts))) || Date.now() / 1000;
  for (const e of snap.ephemerals) arrival(ekey(e), () => lastAt + e.seq * 1e-6);
  for (const d of snap.deliveries) arrival(dkey(d), () => pendingArrival(d) ?? lastAt + d.seq * 1e-6);
  S.ephemerals = snap.ephemerals;
  S.deliveries = snap.deliveries;
  S.files = new Map(snap.files.map((f) => [f.id, f]));
  S.views = new Map(snap.views.map((v) => [v.id, v]));
  updateSuggestions();
  scheduleRender();
}

let versionCounter = 0;
function withVersion(m, v) {
  return { ...m, _v: v ?? ++versionCounter };
}

function same(a, b) {
  return (
    a.text === b.text &&
    JSON.stringify(a.blocks) === JSON.stringify(b.blocks) &&
    String(a.files) === String(b.files)
  );
}

/**
 * The arrival time of an item without a Slack ts, fixed the first time the page sees it and kept in
 * sessionStorage, so a reload puts ephemerals and commands back where they were. Keys include the
 * text length so a restarted stand-in (whose seq starts over) does not inherit old times.
 */
function arrival(key, firstSeen) {
  if (!S.arrivals.has(key)) {
    S.arrivals.set(key, firstSeen());
    sessionStorage.setItem(ARRIVALS_KEY, JSON.stringify([...S.arrivals]));
  }
  return S.arrivals.get(key);
}

function ekey(e) {
  return `e${e.seq}.${e.text.length}`;
}

function dkey(d) {
  return `d${d.seq}.${d.summary.length}`;
}

/** A command this page sent keeps the time it was typed, so the bot's answer never comes before it. */
function pendingArrival(d) {
  if (d.kind !== 'command') return undefined;
  const i = S.pending.findIndex((p) => p.user === d.user && p.summary === d.summary);
  if (i < 0) return undefined;
  const [p] = S.pending.splice(i, 1);
  return p.at;
}

function applyEvent(event) {
  const now = Date.now() / 1000;
  switch (event.type) {
    case 'message':
    case 'update': {
      const old = S.messages.get(event.message.ts);
      // A replayed event may be older than the snapshot: chat.update only ever adds to history.
      if (old && old.history.length > event.message.history.length) break;
      S.messages.set(
        event.message.ts,
        withVersion(event.message, old && same(old, event.message) ? old._v : undefined),
      );
      break;
    }
    case 'ephemeral':
      if (!S.ephemerals.some((e) => e.seq === event.ephemeral.seq)) {
        arrival(ekey(event.ephemeral), () => now);
        S.ephemerals.push(event.ephemeral);
        updateSuggestions();
      }
      break;
    case 'file': {
      // The file's bytes are fetched from /files/<id> when shown; the event's copy is not kept.
      const { content, ...file } = event.file;
      S.files.set(file.id, { ...file, hasContent: content !== undefined || file.hasContent });
      break;
    }
    case 'view':
      S.views.set(event.view.id, event.view);
      break;
    case 'delivery':
      if (!S.deliveries.some((d) => d.seq === event.delivery.seq)) {
        arrival(dkey(event.delivery), () => pendingArrival(event.delivery) ?? now);
        S.deliveries.push(event.delivery);
        if (event.delivery.kind === 'click' && event.delivery.status !== 200)
          toast(`The app answered the click with HTTP ${event.delivery.status}`);
      }
      break;
    default:
      return;
  }
  scheduleRender();
}

/** Live updates over server-sent events; if they fail, poll /api/state until they come back. */
function connect() {
  let pollTimer;
  const setConnection = (state, text) => {
    const node = $('connection');
    node.dataset.state = state;
    node.textContent = text;
  };
  const startPolling = () => {
    if (pollTimer) return;
    setConnection('polling', 'No live connection: updating every 2 s');
    pollTimer = setInterval(
      () =>
        loadState().then(
          () => setConnection('polling', 'No live connection: updating every 2 s'),
          () => setConnection('down', 'Stand-in not reachable (is `npm start` still running?)'),
        ),
      2000,
    );
  };
  if (!('EventSource' in window)) {
    startPolling();
    return;
  }
  const source = new EventSource('/api/events');
  source.onopen = () => {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = undefined;
    setConnection('live', 'Live');
    // Anything that happened while disconnected comes with a fresh snapshot.
    loadState().catch((err) => toast(err.message));
  };
  source.onmessage = (e) => {
    try {
      const event = JSON.parse(e.data);
      if (snapshotsInFlight > 0) heldEvents.push(event);
      applyEvent(event);
    } catch (err) {
      console.error('bad event from the stand-in', err, e.data);
    }
  };
  source.onerror = () => startPolling();
}

// ------------------------------------------------------------------ actions

/** Sends a slash command as the current user; `remember: false` keeps it out of the Up-arrow history. */
async function sendCommand(text, { remember = true } = {}) {
  const trimmed = text.trim();
  const match = /^\/cartographer(?:\s+([\s\S]*))?$/.exec(trimmed);
  if (!match) {
    localNotice(
      trimmed.startsWith('/')
        ? `\`${trimmed.split(/\s/)[0]}\` is not a valid command here. The playground has one app installed: try \`/cartographer help\`.`
        : 'The bot answers slash commands: start your message with `/cartographer`, e.g. `/cartographer help`.',
    );
    return;
  }
  const args = (match[1] ?? '').trim();
  const summary = `/cartographer ${args}`;
  const pending = {
    id: `p${Date.now()}${Math.random()}`,
    user: S.me,
    channel: S.channel,
    summary,
    at: Date.now() / 1000,
  };
  S.pending.push(pending);
  if (remember) {
    S.history = [trimmed, ...S.history.filter((h) => h !== trimmed)].slice(0, 50);
    localStorage.setItem('playground.history', JSON.stringify(S.history));
  }
  stickToBottom.main = true;
  scheduleRender();
  try {
    // The answer (status, any immediate reply) arrives as a `delivery` event and replaces `pending`.
    await post('/api/command', { text: args, user: S.me, channel: S.channel });
  } catch (err) {
    S.pending = S.pending.filter((p) => p !== pending);
    localNotice(`The stand-in could not deliver the command: ${err.message}`);
  }
}

async function clickButton(message, element, node) {
  // What a click posts usually lands in the message's thread: follow it there when it arrives.
  const parentTs = message.thread_ts ?? message.ts;
  const parent = S.messages.get(parentTs);
  S.follow = { parentTs, until: Date.now() + 30_000, replies: parent ? replies(parent).length : 0 };
  if (node) {
    node.disabled = true;
    node.classList.add('busy');
  }
  try {
    const result = await post('/api/click', {
      messageTs: message.ts,
      actionId: element.action_id,
      value: element.value,
      user: S.me,
    });
    if (result.status !== 200) toast(`The app answered the click with HTTP ${result.status}`);
  } catch (err) {
    toast(`Click not delivered: ${err.message}`);
  } finally {
    if (node) {
      // Slack keeps a button busy for a moment; a fast bot has usually answered by then.
      setTimeout(() => {
        node.disabled = false;
        node.classList.remove('busy');
      }, 400);
    }
  }
}

function onMessageAction(message) {
  return (element, _block, node) => {
    if (element.type === 'button') clickButton(message, element, node);
    else toast(`The stand-in delivers button clicks only (got ${element.type}).`);
  };
}

/** Notices from the page itself (not from the bot), shown like Slackbot's "only visible to you". */
const localNotices = [];
function localNotice(text) {
  localNotices.push({ id: `n${localNotices.length}`, text, at: Date.now() / 1000, channel: S.channel });
  stickToBottom.main = true;
  scheduleRender();
}

let toastTimer;
function toast(text) {
  const node = $('toast');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 5000);
}

// ------------------------------------------------------------------ suggestions from the bot's help

/** The bot's help lists commands and, for the bundled demo, example commands under *Try*. */
function updateSuggestions() {
  const help = [...S.ephemerals].reverse().find((e) => /^Cartographer commands/.test(e.text) && e.blocks);
  if (!help) return;
  const texts = help.blocks.map((b) => b.text?.text ?? '').filter(Boolean);
  const unescapeSlack = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const tryText = texts.find((t) => t.startsWith('*Try*')) ?? '';
  S.suggestions = [...tryText.matchAll(/`(\/cartographer [^`]+)`/g)].map((m) => unescapeSlack(m[1]));
  const usageText = texts.find((t) => t.includes('•')) ?? '';
  S.usages = [...usageText.matchAll(/•\s*`(\/cartographer [^`]+)`\s*\n\s*([^\n•]*)/g)].map((m) => ({
    usage: unescapeSlack(m[1]),
    summary: unescapeSlack(m[2].trim()),
  }));
}

// ------------------------------------------------------------------ rendering

let renderQueued = false;
const stickToBottom = { main: true, thread: true };

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function el(tag, className, html) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

function userName(id) {
  if (id === S.bot.userId) return 'Cartographer';
  return S.users.find((u) => u.id === id)?.name ?? id;
}

const AVATAR_COLOURS = ['#e8912d', '#2bac76', '#8b5cf6', '#d93f6a', '#1d9bd1'];
function avatar(userId) {
  if (userId === S.bot.userId) {
    return el(
      'div',
      'avatar bot',
      '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><circle cx="12" cy="12" r="9" fill="none" stroke="#fff" stroke-width="2"/><path d="M12 5l3 7-3 7-3-7z" fill="#fff"/></svg>',
    );
  }
  const i = Math.max(
    0,
    S.users.findIndex((u) => u.id === userId),
  );
  const a = el('div', 'avatar user', escapeHtml(userName(userId).slice(0, 1).toUpperCase()));
  a.style.background = AVATAR_COLOURS[i % AVATAR_COLOURS.length];
  return a;
}

function time(at) {
  return new Date(at * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/** The short time Slack shows in the gutter of a grouped message (no AM/PM). */
function shortTime(at) {
  return time(at).replace(/\s?[AP]M$/i, '');
}

function dayAndTime(at) {
  const d = new Date(at * 1000);
  const today = new Date();
  const day =
    d.toDateString() === today.toDateString()
      ? 'today'
      : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return `${day} at ${time(at)}`;
}

function fileSize(n) {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function replies(parent) {
  return [...S.messages.values()].filter(
    (m) => m.channel === parent.channel && m.thread_ts === parent.ts && m.ts !== parent.ts,
  );
}

function isParent(m) {
  return !m.thread_ts || m.thread_ts === m.ts;
}

/** The channel's timeline: messages, my ephemerals, my slash commands, in arrival order. */
function channelItems(channelId) {
  const items = [];
  for (const m of S.messages.values()) {
    if (m.channel === channelId && isParent(m))
      items.push({ kind: 'message', at: Number(m.ts), key: `m${m.ts}`, author: m.user, m });
  }
  for (const e of S.ephemerals) {
    if (e.channel === channelId && e.user === S.me && !S.dismissed.has(e.seq))
      items.push({ kind: 'ephemeral', at: S.arrivals.get(ekey(e)) ?? 0, key: `e${e.seq}`, e });
  }
  for (const d of S.deliveries) {
    if (d.kind === 'command' && d.channel === channelId && d.user === S.me)
      items.push({
        kind: 'command',
        at: S.arrivals.get(dkey(d)) ?? 0,
        key: `d${d.seq}`,
        author: d.user,
        d,
      });
  }
  for (const p of S.pending) {
    if (p.channel === channelId && p.user === S.me)
      items.push({
        kind: 'command',
        at: p.at,
        key: p.id,
        author: p.user,
        d: { summary: p.summary, status: 0, body: '' },
      });
  }
  for (const n of localNotices) {
    if (n.channel === channelId && !S.dismissed.has(n.id))
      items.push({ kind: 'notice', at: n.at, key: n.id, n });
  }
  return items.sort((a, b) => a.at - b.at);
}

/** Consecutive messages by the same author within five minutes share one header, as in Slack. */
function markContinuations(items) {
  let prev;
  for (const it of items) {
    it.continuation = Boolean(
      prev &&
        dayOf(prev.at) === dayOf(it.at) &&
        it.author &&
        prev.author === it.author &&
        prev.kind === it.kind &&
        it.kind === 'message' &&
        it.at - prev.at < 300,
    );
    prev = it;
  }
  return items;
}

function dayOf(at) {
  return new Date(at * 1000).toDateString();
}

/** Slack's date lines between days ("Today", "Yesterday", "Monday, November 16th"-like). */
function withDayDividers(entries) {
  const rows = [];
  let last;
  for (const { at, row } of entries) {
    const day = dayOf(at);
    if (day !== last) {
      last = day;
      const label = dayLabel(at);
      rows.push({
        key: `day-${day}`,
        sig: label,
        build: () => el('div', 'day-divider', `<span class="day-label">${escapeHtml(label)}</span>`),
      });
    }
    rows.push(row);
  }
  return rows;
}

function dayLabel(at) {
  const d = new Date(at * 1000);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

function messageRow(m, { inThread = false, continuation = false } = {}) {
  const row = el(
    'div',
    `message${continuation ? ' continuation' : ''}${!inThread && S.thread === m.ts ? ' selected' : ''}`,
  );
  row.dataset.ts = m.ts;
  if (continuation) row.appendChild(el('div', 'gutter-time', shortTime(Number(m.ts))));
  else row.appendChild(avatar(m.user));
  const body = el('div', 'message-body');
  if (!continuation) {
    const meta = el('div', 'meta');
    meta.appendChild(el('span', 'name', escapeHtml(userName(m.user))));
    if (m.bot) meta.appendChild(el('span', 'app-badge', 'APP'));
    meta.appendChild(el('span', 'time', time(Number(m.ts))));
    body.appendChild(meta);
  }
  if (m.blocks?.length) body.appendChild(renderBlocks(m.blocks, onMessageAction(m)));
  else if (m.text) body.appendChild(el('div', 'message-text', mrkdwn(m.text)));
  for (const id of m.files ?? []) body.appendChild(fileCard(id));
  if (!inThread) {
    const rs = replies(m);
    if (rs.length) {
      const link = el('button', 'thread-link');
      link.type = 'button';
      link.appendChild(avatar(rs.at(-1).user));
      link.appendChild(el('span', 'count', `${rs.length} ${rs.length === 1 ? 'reply' : 'replies'}`));
      link.appendChild(el('span', 'last', `Last reply ${dayAndTime(Number(rs.at(-1).ts))}`));
      link.appendChild(el('span', 'view', 'View thread'));
      link.addEventListener('click', () => openThread(m.ts));
      body.appendChild(link);
    }
  }
  row.appendChild(body);
  markRunnable(row);
  return row;
}

/** Inline `/cartographer …` code in the bot's messages can be clicked into the composer. */
function markRunnable(node) {
  for (const code of node.querySelectorAll('code')) {
    if (!code.textContent.startsWith('/cartographer')) continue;
    code.classList.add('runnable');
    code.title = 'Click to put this command in the message box';
  }
}

function ephemeralRow(e) {
  const row = el('div', 'message ephemeral');
  row.appendChild(avatar(S.bot.userId));
  const body = el('div', 'message-body');
  const meta = el('div', 'meta');
  meta.appendChild(el('span', 'name', 'Cartographer'));
  meta.appendChild(el('span', 'app-badge', 'APP'));
  meta.appendChild(el('span', 'time', time(S.arrivals.get(ekey(e)) ?? Date.now() / 1000)));
  body.appendChild(meta);
  body.appendChild(onlyVisible(() => S.dismissed.add(e.seq)));
  // Ephemeral messages have no ts the stand-in can resolve a click against, so their buttons are inert.
  if (e.blocks?.length) {
    const blocks = renderBlocks(e.blocks, () =>
      toast('Buttons on "only visible to you" messages are not clickable in the playground.'),
    );
    body.appendChild(blocks);
  } else body.appendChild(el('div', 'message-text', mrkdwn(e.text)));
  row.appendChild(body);
  markRunnable(row);
  return row;
}

function onlyVisible(dismiss) {
  const line = el(
    'div',
    'only-you',
    '<svg class="eye" viewBox="0 0 20 20" width="14" height="14" aria-hidden="true"><path d="M10 4C5.5 4 2.2 7.6 1.2 10c1 2.4 4.3 6 8.8 6s7.8-3.6 8.8-6c-1-2.4-4.3-6-8.8-6zm0 10a4 4 0 1 1 0-8 4 4 0 0 1 0 8zm0-6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z" fill="currentColor"/></svg> Only visible to you',
  );
  const link = el('button', 'dismiss', 'Dismiss');
  link.type = 'button';
  link.addEventListener('click', () => {
    dismiss();
    scheduleRender();
  });
  line.appendChild(link);
  return line;
}

function commandRow(item) {
  const d = item.d;
  const row = el('div', `message command${item.continuation ? ' continuation' : ''}`);
  row.appendChild(avatar(S.me));
  const body = el('div', 'message-body');
  const meta = el('div', 'meta');
  meta.appendChild(el('span', 'name', escapeHtml(userName(S.me))));
  meta.appendChild(el('span', 'time', time(item.at)));
  body.appendChild(meta);
  const [cmd, ...rest] = d.summary.split(' ');
  const text = el('div', 'message-text slash');
  text.appendChild(el('span', 'slash-name', escapeHtml(cmd)));
  text.appendChild(document.createTextNode(` ${rest.join(' ')}`));
  if (d.status === 0) text.appendChild(el('span', 'sending', ' sending…'));
  body.appendChild(text);
  // What Slack shows when an app fails a slash command, and an immediate text reply (ack with a body).
  if (d.status && d.status !== 200) {
    body.appendChild(
      el(
        'div',
        'command-error',
        `${escapeHtml(cmd)} failed: the app answered HTTP ${d.status}${d.body ? ` · <code>${escapeHtml(d.body.slice(0, 200))}</code>` : ''}`,
      ),
    );
  } else if (d.body) {
    const reply = ackReply(d.body);
    if (reply) body.appendChild(el('div', 'ack-reply', mrkdwn(reply)));
  }
  row.appendChild(body);
  return row;
}

function ackReply(body) {
  try {
    const parsed = JSON.parse(body);
    return typeof parsed.text === 'string' ? parsed.text : '';
  } catch {
    return body;
  }
}

function noticeRow(n) {
  const row = el('div', 'message ephemeral');
  row.appendChild(el('div', 'avatar notice', '🧭'));
  const body = el('div', 'message-body');
  const meta = el('div', 'meta');
  meta.appendChild(el('span', 'name', 'Playground'));
  meta.appendChild(el('span', 'time', time(n.at)));
  body.appendChild(meta);
  body.appendChild(onlyVisible(() => S.dismissed.add(n.id)));
  body.appendChild(el('div', 'message-text', mrkdwn(n.text)));
  row.appendChild(body);
  return row;
}

function channelIntro(ch) {
  const intro = el('div', 'channel-intro');
  intro.appendChild(el('h2', '', `# ${escapeHtml(ch.name)}`));
  intro.appendChild(
    el(
      'p',
      '',
      ch.botMember
        ? `This is the very beginning of <b>#${escapeHtml(ch.name)}</b>. The Cartographer bot is in this channel, reading the bundled demo CloudTrail logs. Type <code>/cartographer help</code>, or pick a demo session below.`
        : `This is the very beginning of <b>#${escapeHtml(ch.name)}</b>. The Cartographer app has not been invited here, so it cannot post in this channel (Slack answers <code>not_in_channel</code>).`,
    ),
  );
  return intro;
}

/** Keyed reconciliation: unchanged rows keep their DOM node (scroll, open previews, focus). */
function reconcile(container, rows) {
  const cache = container._rows ?? new Map();
  const next = new Map();
  const nodes = rows.map((r) => {
    const hit = cache.get(r.key);
    const node = hit && hit.sig === r.sig ? hit.node : r.build();
    next.set(r.key, { sig: r.sig, node });
    return node;
  });
  container._rows = next;
  const current = [...container.children];
  if (current.length !== nodes.length || current.some((n, i) => n !== nodes[i]))
    container.replaceChildren(...nodes);
}

function itemRow(it, inThread) {
  switch (it.kind) {
    case 'message': {
      const rs = inThread ? [] : replies(it.m);
      const files = (it.m.files ?? []).map((id) => `${id}:${S.files.get(id)?.complete}`).join();
      return {
        key: it.key,
        sig: `${it.m._v}|${rs.length}|${rs.at(-1)?.ts}|${it.continuation}|${files}|${!inThread && S.thread === it.m.ts}|${S.me}`,
        build: () => messageRow(it.m, { inThread, continuation: it.continuation }),
      };
    }
    case 'ephemeral':
      return { key: it.key, sig: 'e', build: () => ephemeralRow(it.e) };
    case 'command':
      return { key: it.key, sig: `${it.d.status}|${it.continuation}`, build: () => commandRow(it) };
    case 'notice':
      return { key: it.key, sig: 'n', build: () => noticeRow(it.n) };
    default:
      throw new Error(`unknown item ${it.kind}`);
  }
}

function nearBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
}

function render() {
  const ch = S.channels.find((c) => c.id === S.channel) ?? S.channels[0];
  if (!ch) return;
  S.channel = ch.id;
  renderSidebar();
  $('channel-title').textContent = `# ${ch.name}`;
  $('channel-topic').textContent = ch.botMember
    ? 'CloudTrail triage with Cartographer · demo data, local stand-in'
    : 'Cartographer is not in this channel';
  $('composer-input').placeholder = `Message #${ch.name} — try /cartographer help`;

  const main = $('messages');
  const stick = stickToBottom.main || nearBottom(main);
  const items = markContinuations(channelItems(ch.id));
  reconcile(main, [
    { key: `intro-${ch.id}`, sig: ch.botMember, build: () => channelIntro(ch) },
    ...withDayDividers(items.map((it) => ({ at: it.at, row: itemRow(it, false) }))),
  ]);
  if (stick) main.scrollTop = main.scrollHeight;
  stickToBottom.main = false;
  S.seen.set(ch.id, unreadBase(ch.id));

  followClick();
  renderSuggestions();
  renderThread();
  renderModal();
}

function unreadBase(channelId) {
  return (
    [...S.messages.values()].filter((m) => m.channel === channelId && isParent(m)).length +
    S.ephemerals.filter((e) => e.channel === channelId && e.user === S.me).length
  );
}

function renderSidebar() {
  $('team-name').textContent = S.team.name;
  const list = $('channel-list');
  list.replaceChildren(
    ...S.channels.map((c) => {
      const node = el(
        'div',
        `channel${c.id === S.channel ? ' active' : ''}`,
        `<span class="hash">#</span> ${escapeHtml(c.name)}`,
      );
      node.dataset.channel = c.name;
      const unread = unreadBase(c.id) - (S.seen.get(c.id) ?? 0);
      if (c.id !== S.channel && unread > 0) {
        node.classList.add('unread');
        node.appendChild(el('span', 'count', String(unread)));
      }
      node.addEventListener('click', () => {
        S.channel = c.id;
        S.thread = null;
        stickToBottom.main = true;
        scheduleRender();
      });
      return node;
    }),
  );
  const select = $('user-select');
  if (select.options.length !== S.users.length) {
    select.replaceChildren(
      ...S.users.map((u) => {
        const o = el('option', '', escapeHtml(u.name));
        o.value = u.id;
        return o;
      }),
    );
  }
  select.value = S.me;
}

function renderSuggestions() {
  const box = $('suggestions');
  const ch = S.channels.find((c) => c.id === S.channel);
  const sig = `${S.suggestions.join('|')}|${ch?.botMember}`;
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.hidden = S.suggestions.length === 0 || !ch?.botMember;
  box.replaceChildren(
    el('span', 'label', 'Try the demo data:'),
    ...S.suggestions.map((cmd) => {
      const chip = el('button', 'chip', escapeHtml(cmd.replace(/^\/cartographer /, '')));
      chip.type = 'button';
      chip.title = `Run ${cmd}`;
      chip.dataset.command = cmd;
      chip.addEventListener('click', () => sendCommand(cmd));
      return chip;
    }),
  );
}

/** Opens (or scrolls) the thread where the answer to a button click has just been posted. */
function followClick() {
  const f = S.follow;
  if (!f) return;
  if (Date.now() > f.until) {
    S.follow = null;
    return;
  }
  const parent = S.messages.get(f.parentTs);
  if (parent && replies(parent).length > f.replies) {
    S.follow = null;
    S.thread = f.parentTs;
    stickToBottom.thread = true;
  }
}

function openThread(ts) {
  S.thread = ts;
  stickToBottom.thread = true;
  scheduleRender();
}

function renderThread() {
  const pane = $('thread-pane');
  const parent = S.thread && S.messages.get(S.thread);
  pane.classList.toggle('open', Boolean(parent));
  if (!parent) return;
  const ch = S.channels.find((c) => c.id === parent.channel);
  $('thread-channel').textContent = `# ${ch?.name ?? parent.channel}`;
  const list = $('thread-messages');
  const stick = stickToBottom.thread || nearBottom(list);
  const rs = replies(parent);
  const items = markContinuations(
    rs.map((m) => ({ kind: 'message', at: Number(m.ts), key: `m${m.ts}`, author: m.user, m })),
  );
  reconcile(list, [
    itemRow(
      { kind: 'message', at: Number(parent.ts), key: `p${parent.ts}`, author: parent.user, m: parent },
      true,
    ),
    {
      key: `divider-${parent.ts}`,
      sig: String(rs.length),
      build: () => el('div', 'replies-divider', `${rs.length} ${rs.length === 1 ? 'reply' : 'replies'}`),
    },
    ...items.map((it) => itemRow(it, true)),
  ]);
  if (stick) list.scrollTop = list.scrollHeight;
  stickToBottom.thread = false;
}

// ------------------------------------------------------------------ files

const fileCache = new Map();

/** Fetches a file once; JSON is parsed and re-indented so it reads well whatever the bot sent. */
function loadFile(id) {
  if (!fileCache.has(id)) {
    fileCache.set(
      id,
      fetch(`/files/${encodeURIComponent(id)}`).then(async (res) => {
        if (!res.ok) throw new Error(`GET /files/${id}: HTTP ${res.status}`);
        const text = await res.text();
        try {
          const value = JSON.parse(text);
          return { json: true, value, pretty: JSON.stringify(value, null, 2) };
        } catch {
          return { json: false, pretty: text };
        }
      }),
    );
  }
  return fileCache.get(id);
}

function fileKind(f) {
  const ext = /\.([a-z0-9]+)$/i.exec(f?.name ?? '')?.[1]?.toLowerCase() ?? '';
  return ext === 'json' ? 'JSON' : ext === 'txt' ? 'Plain text' : ext.toUpperCase() || 'File';
}

function fileCard(id) {
  const f = S.files.get(id);
  const card = el('div', 'file-card');
  card.dataset.fileId = id;
  const head = el('div', 'file');
  const kind = fileKind(f);
  head.appendChild(el('div', `icon ${kind === 'JSON' ? 'json' : 'text'}`, kind === 'JSON' ? '{ }' : '≡'));
  const info = el('div', 'finfo');
  info.appendChild(el('div', 'fname', escapeHtml(f?.title ?? f?.name ?? id)));
  info.appendChild(el('div', 'fmeta', `${escapeHtml(kind)} · ${fileSize(f?.length)}`));
  head.appendChild(info);
  const download = el('a', 'file-download', '⤓');
  download.href = `/files/${encodeURIComponent(id)}`;
  download.download = f?.name ?? id;
  download.title = 'Download';
  download.addEventListener('click', (e) => e.stopPropagation());
  head.appendChild(download);
  head.addEventListener('click', () => openFile(id));
  card.appendChild(head);
  if (f?.hasContent !== false) {
    const preview = el('div', 'file-preview loading-preview');
    preview.addEventListener('click', () => openFile(id));
    const pre = el('pre', 'code json-view', '<span class="loading">Loading preview…</span>');
    preview.appendChild(pre);
    preview.appendChild(el('div', 'preview-more', 'Click to open the whole file'));
    card.appendChild(preview);
    loadFile(id)
      .then((file) => {
        const lines = file.pretty.split('\n');
        const scroller = card.closest('.messages');
        const atBottom = scroller && nearBottom(scroller);
        pre.innerHTML = lines
          .slice(0, 12)
          .map((l) => (file.json ? highlightJson(l) : escapeHtml(l)))
          .join('\n');
        preview.classList.remove('loading-preview');
        if (atBottom) scroller.scrollTop = scroller.scrollHeight;
        const more = preview.querySelector('.preview-more');
        more.textContent =
          file.json && Array.isArray(file.value)
            ? `${file.value.length.toLocaleString('en-US')} items · ${lines.length.toLocaleString('en-US')} lines — click to open`
            : `${lines.length.toLocaleString('en-US')} lines — click to open`;
      })
      .catch((err) => {
        pre.textContent = `Could not load the file: ${err.message}`;
      });
  }
  return card;
}

/** One line of indented JSON → HTML with keys, strings, numbers and literals coloured. */
function highlightJson(line) {
  return escapeHtml(line).replace(
    /(&quot;(?:[^&\\]|\\.|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
    (m, str, colon, lit, num) => {
      if (str) return colon ? `<span class="jk">${str}</span>${colon}` : `<span class="js">${str}</span>`;
      if (lit) return `<span class="jl">${lit}</span>`;
      if (num) return `<span class="jn">${num}</span>`;
      return m;
    },
  );
}

const VIEW_CHUNK = 2000;

async function openFile(id) {
  const f = S.files.get(id);
  const overlay = $('file-viewer');
  overlay.hidden = false;
  overlay.replaceChildren();
  const box = el('div', 'file-viewer');
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', f?.name ?? id);
  const head = el('div', 'viewer-head');
  const kind = fileKind(f);
  head.appendChild(el('div', `icon ${kind === 'JSON' ? 'json' : 'text'}`, kind === 'JSON' ? '{ }' : '≡'));
  const info = el('div', 'finfo');
  info.appendChild(el('div', 'fname', escapeHtml(f?.title ?? f?.name ?? id)));
  const meta = el('div', 'fmeta', `${escapeHtml(kind)} · ${fileSize(f?.length)}`);
  info.appendChild(meta);
  head.appendChild(info);
  const copy = el('button', 'header-button', 'Copy');
  copy.type = 'button';
  const download = el('a', 'header-button', 'Download');
  download.href = `/files/${encodeURIComponent(id)}`;
  download.download = f?.name ?? id;
  const close = el('button', 'close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Close file');
  close.addEventListener('click', closeFile);
  head.append(copy, download, close);
  box.appendChild(head);
  const body = el('div', 'viewer-body');
  const pre = el('pre', 'code json-view', '<span class="loading">Loading…</span>');
  body.appendChild(pre);
  box.appendChild(body);
  overlay.appendChild(box);
  overlay.onclick = (e) => {
    if (e.target === overlay) closeFile();
  };
  try {
    const file = await loadFile(id);
    const lines = file.pretty.split('\n');
    if (file.json && Array.isArray(file.value))
      meta.textContent = `${kind} · ${file.value.length.toLocaleString('en-US')} items · ${fileSize(f?.length)}`;
    copy.addEventListener('click', () =>
      navigator.clipboard?.writeText(file.pretty).then(
        () => toast('Copied to the clipboard'),
        () => toast('The browser refused clipboard access'),
      ),
    );
    // Long files are shown a chunk at a time so a 3 MB event dump opens instantly.
    let shown = 0;
    pre.innerHTML = '';
    const more = el('button', 'header-button more', '');
    more.type = 'button';
    const showMore = () => {
      const next = lines.slice(shown, shown + VIEW_CHUNK);
      pre.insertAdjacentHTML(
        'beforeend',
        `${next.map((l) => (file.json ? highlightJson(l) : escapeHtml(l))).join('\n')}\n`,
      );
      shown += next.length;
      more.textContent = `Show more (${(lines.length - shown).toLocaleString('en-US')} lines left)`;
      more.hidden = shown >= lines.length;
    };
    more.addEventListener('click', showMore);
    showMore();
    body.appendChild(more);
  } catch (err) {
    pre.textContent = `Could not load the file: ${err.message}`;
  }
}

function closeFile() {
  const overlay = $('file-viewer');
  overlay.hidden = true;
  overlay.replaceChildren();
}

// ------------------------------------------------------------------ modals (views.open)

let shownView = null;

function renderModal() {
  const view = [...S.views.values()].find((v) => v.open && v.user === S.me && !S.closedViews.has(v.id));
  const overlay = $('modal');
  if (!view) {
    if (shownView) {
      overlay.hidden = true;
      overlay.replaceChildren();
      shownView = null;
    }
    return;
  }
  if (shownView === view.id) return;
  shownView = view.id;
  const v = view.view;
  const box = el('form', 'modal');
  box.setAttribute('role', 'dialog');
  box.noValidate = true;
  const head = el('div', 'modal-head');
  head.appendChild(el('div', 'modal-title', escapeHtml(v.title?.text ?? 'App')));
  const x = el('button', 'close', '×');
  x.type = 'button';
  x.setAttribute('aria-label', 'Close');
  head.appendChild(x);
  box.appendChild(head);
  const body = el('div', 'modal-body');
  body.appendChild(renderBlocks(v.blocks, () => {}));
  box.appendChild(body);
  const foot = el('div', 'modal-foot');
  const cancel = el('button', 'bk-button', escapeHtml(v.close?.text ?? 'Cancel'));
  cancel.type = 'button';
  foot.appendChild(cancel);
  if (v.submit) {
    const submit = el('button', 'bk-button primary', escapeHtml(v.submit.text));
    submit.type = 'submit';
    foot.appendChild(submit);
  }
  box.appendChild(foot);
  const dismiss = () => {
    S.closedViews.add(view.id);
    scheduleRender();
  };
  x.addEventListener('click', dismiss);
  cancel.addEventListener('click', dismiss);
  box.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { values, errors } = readInputs(body);
    showInputErrors(body, errors);
    if (Object.keys(errors).length) return;
    const submit = box.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const result = await post('/api/submit', { viewId: view.id, values, user: S.me });
      const answer = result.body ? safeJson(result.body) : {};
      if (result.status !== 200) toast(`The app answered the submission with HTTP ${result.status}`);
      else if (answer?.response_action === 'errors') showInputErrors(body, answer.errors ?? {});
      else dismiss();
    } catch (err) {
      toast(`Submission not delivered: ${err.message}`);
    } finally {
      submit.disabled = false;
    }
  });
  overlay.replaceChildren(box);
  overlay.hidden = false;
  box.querySelector('textarea, input, select')?.focus();
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ composer

function renderAutocomplete() {
  const input = $('composer-input');
  const box = $('autocomplete');
  const value = input.value;
  const show =
    value.startsWith('/') && !value.includes(' ')
      ? S.usages.length > 0 || '/cartographer'.startsWith(value)
      : false;
  if (!show) {
    box.hidden = true;
    return;
  }
  const usages = S.usages.length ? S.usages : [{ usage: '/cartographer help', summary: 'list the commands' }];
  box.replaceChildren(
    el('div', 'ac-title', 'Cartographer'),
    ...usages.map((u) => {
      const row = el(
        'button',
        'ac-row',
        `<code>${escapeHtml(u.usage)}</code><span>${escapeHtml(u.summary)}</span>`,
      );
      row.type = 'button';
      row.addEventListener('mousedown', (e) => {
        e.preventDefault();
        const word = /^\/cartographer (\S+)/.exec(u.usage)?.[1] ?? '';
        input.value = `/cartographer ${word}${word === 'help' || word === 'digest' ? '' : ' '}`;
        box.hidden = true;
        input.focus();
      });
      return row;
    }),
  );
  box.hidden = false;
}

function setupComposer() {
  const input = $('composer-input');
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    S.historyPos = -1;
    $('autocomplete').hidden = true;
    sendCommand(text);
  });
  input.addEventListener('input', renderAutocomplete);
  input.addEventListener('blur', () => {
    $('autocomplete').hidden = true;
  });
  input.addEventListener('keydown', (e) => {
    // Up/Down walk through earlier commands, like a shell.
    if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && S.history.length) {
      if (e.key === 'ArrowUp' && (input.value === '' || S.historyPos >= 0)) {
        S.historyPos = Math.min(S.history.length - 1, S.historyPos + 1);
      } else if (e.key === 'ArrowDown' && S.historyPos >= 0) {
        S.historyPos -= 1;
      } else return;
      e.preventDefault();
      input.value = S.historyPos >= 0 ? S.history[S.historyPos] : '';
      $('autocomplete').hidden = true;
    }
    if (e.key === 'Escape') $('autocomplete').hidden = true;
  });
}

// ------------------------------------------------------------------ start

function setup() {
  setNameResolvers({
    user: (id) => (id === S.bot.userId ? S.bot.name : userName(id)),
    channel: (id) => S.channels.find((c) => c.id === id)?.name ?? id,
  });
  setupComposer();
  document.addEventListener('click', (e) => {
    const code = e.target.closest?.('code.runnable');
    if (!code) return;
    // A usage line (`/cartographer session <key> [--since 24h]`) fills in the command word only.
    const text = code.textContent;
    const command = text.split(/\s[<[]/)[0];
    const input = $('composer-input');
    input.value = command === text ? command : `${command} `;
    input.focus();
  });
  $('thread-close').addEventListener('click', () => {
    S.thread = null;
    scheduleRender();
  });
  $('digest-button').addEventListener('click', () => sendCommand('/cartographer digest'));
  $('user-select').addEventListener('change', (e) => {
    S.me = e.target.value;
    localStorage.setItem('playground.user', S.me);
    shownView = null;
    stickToBottom.main = true;
    scheduleRender();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (!$('file-viewer').hidden) closeFile();
    else if (S.thread && document.activeElement !== $('composer-input')) {
      S.thread = null;
      scheduleRender();
    }
  });
}

async function start() {
  setup();
  try {
    await loadState();
  } catch (err) {
    $('connection').textContent = `Stand-in not reachable: ${err.message}`;
  }
  connect();
  // A first visit starts with the bot's help: it lists the commands and the demo's example sessions.
  const hasHelp = S.ephemerals.some((e) => e.user === S.me && /^Cartographer commands/.test(e.text));
  if (!hasHelp && !S.helpRequested) {
    S.helpRequested = true;
    sendCommand('/cartographer help', { remember: false });
  }
  $('composer-input').focus();
}

start();
