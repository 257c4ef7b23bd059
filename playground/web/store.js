// The page's model of the stand-in's workspace: loaded from GET /api/state, kept current by
// server-sent events (or polling), and the render scheduling every change goes through.
import { $, toast } from './dom.js';

export const ARRIVALS_KEY = `playground.arrivals.${location.host}`;

/** A list kept in browser storage; anything unreadable counts as empty. */
export function storedList(storage, key) {
  try {
    const saved = JSON.parse(storage.getItem(key) ?? '[]');
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

/** Everything the page knows; rebuilt from /api/state and kept current by server-sent events. */
export const S = {
  team: { name: 'Cartographer Playground' },
  bot: { userId: 'U0CARTOBOT', name: 'cartographer' },
  users: [],
  channels: [],
  /** ts → message (ts is unique across the stand-in's workspace). */
  messages: new Map(),
  ephemerals: [],
  files: new Map(),
  views: new Map(),
  /** App Home tabs by user id (views.publish). */
  homes: new Map(),
  deliveries: [],
  /** What the main pane shows: a channel, or the app's Home tab. */
  view: 'channel',
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

export async function post(path, body) {
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

export async function loadState() {
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

export function applySnapshot(snap) {
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
  // The stand-in stamps ephemerals and deliveries with `at` (ms, same clock as message ts); one
  // without it (an older stand-in) goes after the last message.
  const lastAt = Math.max(0, ...snap.messages.map((m) => Number(m.ts))) || Date.now() / 1000;
  for (const e of snap.ephemerals) arrival(ekey(e), () => stamped(e) ?? lastAt + e.seq * 1e-6);
  for (const d of snap.deliveries)
    arrival(dkey(d), () => pendingArrival(d) ?? stamped(d) ?? lastAt + d.seq * 1e-6);
  S.ephemerals = snap.ephemerals;
  S.deliveries = snap.deliveries;
  S.files = new Map(snap.files.map((f) => [f.id, f]));
  S.views = new Map(snap.views.map((v) => [v.id, v]));
  S.homes = new Map((snap.homes ?? []).map((h) => [h.user, h]));
  updateSuggestions();
  scheduleRender();
}

let versionCounter = 0;
export function withVersion(m, v) {
  return { ...m, _v: v ?? ++versionCounter };
}

export function same(a, b) {
  return (
    a.text === b.text &&
    JSON.stringify(a.blocks) === JSON.stringify(b.blocks) &&
    String(a.files) === String(b.files)
  );
}

/**
 * The arrival time of an item without a Slack ts, fixed the first time the page sees it and kept in
 * sessionStorage, so a reload puts ephemerals and commands back where they were (the stand-in's
 * `at` when it has one). Keys include the
 * text length so a restarted stand-in (whose seq starts over) does not inherit old times.
 */
export function arrival(key, firstSeen) {
  if (!S.arrivals.has(key)) {
    S.arrivals.set(key, firstSeen());
    sessionStorage.setItem(ARRIVALS_KEY, JSON.stringify([...S.arrivals]));
  }
  return S.arrivals.get(key);
}

/** The stand-in's own time for an ephemeral or delivery, in seconds like a Slack ts. */
export function stamped(item) {
  return typeof item.at === 'number' ? item.at / 1000 : undefined;
}

export function ekey(e) {
  return `e${e.seq}.${e.text.length}`;
}

export function dkey(d) {
  return `d${d.seq}.${d.summary.length}`;
}

/** A command this page sent keeps the time it was typed, so the bot's answer never comes before it. */
export function pendingArrival(d) {
  if (d.kind !== 'command') return undefined;
  const i = S.pending.findIndex((p) => p.user === d.user && p.summary === d.summary);
  if (i < 0) return undefined;
  const [p] = S.pending.splice(i, 1);
  return p.at;
}

export function applyEvent(event) {
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
        arrival(ekey(event.ephemeral), () => stamped(event.ephemeral) ?? now);
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
    case 'home':
      S.homes.set(event.home.user, event.home);
      break;
    case 'delivery':
      if (!S.deliveries.some((d) => d.seq === event.delivery.seq)) {
        arrival(dkey(event.delivery), () => pendingArrival(event.delivery) ?? stamped(event.delivery) ?? now);
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
export function connect() {
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

/** The bot's help lists commands and, for the bundled demo, example commands under *Try*. */
export function updateSuggestions() {
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

let renderQueued = false;
export const stickToBottom = { main: true, thread: true };

/** The page's render function (set by app.js), called at most once per animation frame. */
let renderer = () => {};
export function setRenderer(render) {
  renderer = render;
}

export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderer();
  });
}

export function replies(parent) {
  return [...S.messages.values()].filter(
    (m) => m.channel === parent.channel && m.thread_ts === parent.ts && m.ts !== parent.ts,
  );
}

export function isParent(m) {
  return !m.thread_ts || m.thread_ts === m.ts;
}

export function openThread(ts) {
  S.thread = ts;
  stickToBottom.thread = true;
  scheduleRender();
}
