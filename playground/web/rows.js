// One row of the message list: bot messages (Block Kit), ephemerals, slash-command lines, notices.

import { clickButton, onMessageAction } from './actions.js';
import { escapeHtml, mrkdwn, renderBlocks } from './blockkit.js';
import { dayAndTime, el, shortTime, time, toast } from './dom.js';
import { fileCard } from './files.js';
import { ekey, openThread, replies, S, scheduleRender } from './store.js';

export function userName(id) {
  if (id === S.bot.userId) return 'Cartographer';
  return S.users.find((u) => u.id === id)?.name ?? id;
}

export const AVATAR_COLOURS = ['#e8912d', '#2bac76', '#8b5cf6', '#d93f6a', '#1d9bd1'];
export function avatar(userId) {
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

export function messageRow(m, { inThread = false, continuation = false } = {}) {
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
export function markRunnable(node) {
  for (const code of node.querySelectorAll('code')) {
    if (!code.textContent.startsWith('/cartographer')) continue;
    code.classList.add('runnable');
    code.title = 'Click to put this command in the message box';
  }
}

export function ephemeralRow(e) {
  const row = el('div', 'message ephemeral');
  row.appendChild(avatar(S.bot.userId));
  const body = el('div', 'message-body');
  const meta = el('div', 'meta');
  meta.appendChild(el('span', 'name', 'Cartographer'));
  meta.appendChild(el('span', 'app-badge', 'APP'));
  meta.appendChild(el('span', 'time', time(S.arrivals.get(ekey(e)) ?? Date.now() / 1000)));
  body.appendChild(meta);
  body.appendChild(onlyVisible(() => S.dismissed.add(e.seq)));
  // The stand-in resolves clicks on ephemerals by their message_ts (an older one gave them none).
  if (e.blocks?.length) {
    const blocks = renderBlocks(e.blocks, (element, _block, node) => {
      if (!e.ts) toast('This stand-in does not take clicks on "only visible to you" messages.');
      else if (element.type !== 'button')
        toast(`The stand-in delivers button clicks only (got ${element.type}).`);
      else
        void clickButton(
          { ephemeral: true, ts: e.ts, thread_ts: e.thread_ts, channel: e.channel },
          element,
          node,
        );
    });
    body.appendChild(blocks);
  } else body.appendChild(el('div', 'message-text', mrkdwn(e.text)));
  row.appendChild(body);
  markRunnable(row);
  return row;
}

export function onlyVisible(dismiss) {
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

export function commandRow(item) {
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

export function ackReply(body) {
  try {
    const parsed = JSON.parse(body);
    return typeof parsed.text === 'string' ? parsed.text : '';
  } catch {
    return body;
  }
}

export function noticeRow(n) {
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

export function channelIntro(ch) {
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
