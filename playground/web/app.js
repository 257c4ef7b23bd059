// The playground page: a Slack-like client for the local Slack stand-in. It only reads the
// stand-in's state (GET /api/state, server-sent events on /api/events) and asks the stand-in to act
// as Slack would (POST /api/command, /api/click, /api/submit); the bot behind it is the real one.
// This module lays out the channel and thread views and starts everything.

import { followClick, localNotices, sendCommand } from './actions.js';
import { escapeHtml, renderBlocks, setNameResolvers } from './blockkit.js';
import { setupComposer } from './composer.js';
import { $, dayLabel, dayOf, el, nearBottom, toast } from './dom.js';
import { closeFile } from './files.js';
import { forgetShownModal, renderModal } from './modal.js';
import { channelIntro, commandRow, ephemeralRow, messageRow, noticeRow, userName } from './rows.js';
import {
  connect,
  dkey,
  ekey,
  isParent,
  loadState,
  post,
  replies,
  S,
  scheduleRender,
  setRenderer,
  stickToBottom,
} from './store.js';

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

function render() {
  const ch = S.channels.find((c) => c.id === S.channel) ?? S.channels[0];
  if (!ch) return;
  S.channel = ch.id;
  renderSidebar();
  const home = S.view === 'home';
  $('messages').hidden = home;
  $('composer-area').hidden = home;
  $('digest-button').hidden = home;
  $('home-view').hidden = !home;
  if (home) {
    renderHome();
    renderModal();
    return;
  }
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

/** The app's Home tab, as the bot last published it for the current user. */
function renderHome() {
  $('channel-title').textContent = 'cartographer';
  $('channel-topic').textContent = 'Home · published by the app (views.publish)';
  const box = $('home-view');
  const home = S.homes.get(S.me);
  const sig = `${S.me}|${home?.at ?? 0}`;
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.replaceChildren(
    home
      ? renderBlocks(home.view.blocks, () =>
          toast('The Home tab has no buttons; its links open the messages.'),
        )
      : el('div', 'channel-intro', '<p>Opening the Home tab…</p>'),
  );
}

/** Opens the app's Home tab: the stand-in tells the bot (app_home_opened), the bot publishes it. */
function openHome() {
  S.view = 'home';
  S.thread = null;
  scheduleRender();
  post('/api/home', { user: S.me }).catch((err) => toast(`Home not delivered: ${err.message}`));
}

/** A Slack message link (`/archives/<channel>/p<ts>`) on this page: show that message and its thread. */
export function openPermalink(path) {
  const m = /^\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})$/.exec(path);
  if (!m) return false;
  const ts = `${m[2]}.${m[3]}`;
  S.view = 'channel';
  S.channel = m[1];
  const message = S.messages.get(ts);
  const parent = message?.thread_ts && message.thread_ts !== ts ? message.thread_ts : ts;
  S.thread = message ? parent : null;
  scheduleRender();
  requestAnimationFrame(() =>
    requestAnimationFrame(() =>
      document.querySelector(`#messages .message[data-ts="${parent}"]`)?.scrollIntoView({ block: 'center' }),
    ),
  );
  return true;
}

function renderSidebar() {
  $('team-name').textContent = S.team.name;
  $('app-home').classList.toggle('active', S.view === 'home');
  const list = $('channel-list');
  list.replaceChildren(
    ...S.channels.map((c) => {
      const node = el(
        'div',
        `channel${c.id === S.channel && S.view !== 'home' ? ' active' : ''}`,
        `<span class="hash">#</span> ${escapeHtml(c.name)}`,
      );
      node.dataset.channel = c.name;
      const unread = unreadBase(c.id) - (S.seen.get(c.id) ?? 0);
      if (c.id !== S.channel && unread > 0) {
        node.classList.add('unread');
        node.appendChild(el('span', 'count', String(unread)));
      }
      node.addEventListener('click', () => {
        S.view = 'channel';
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

function setup() {
  setRenderer(render);
  setNameResolvers({
    user: (id) => (id === S.bot.userId ? S.bot.name : userName(id)),
    channel: (id) => S.channels.find((c) => c.id === id)?.name ?? id,
    users: () => S.users,
  });
  $('app-home').addEventListener('click', openHome);
  // Links to Slack messages (alerts and digests in App Home, the digest) open them on this page.
  document.addEventListener('click', (e) => {
    const a = e.target.closest?.('a[href]');
    if (!a) return;
    const url = new URL(a.href, location.href);
    if (url.origin === location.origin && openPermalink(url.pathname)) e.preventDefault();
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
    if (S.view === 'home') openHome();
    forgetShownModal();
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
  // Opened from a message link (`/archives/<channel>/p<ts>`): go to that message.
  if (openPermalink(location.pathname)) history.replaceState(null, '', '/');
  // A first visit starts with the bot's help: it lists the commands and the demo's example sessions.
  const hasHelp = S.ephemerals.some((e) => e.user === S.me && /^Cartographer commands/.test(e.text));
  if (!hasHelp && !S.helpRequested) {
    S.helpRequested = true;
    void sendCommand('/cartographer help', { remember: false });
  }
  $('composer-input').focus();
}

void start();
