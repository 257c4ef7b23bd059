// What the analyst does that reaches the bot through the stand-in: slash commands and button clicks,
// plus the page's own 'only visible to you' notices.
import { toast } from './dom.js';
import { post, replies, S, scheduleRender, stickToBottom } from './store.js';

/** Sends a slash command as the current user; `remember: false` keeps it out of the Up-arrow history. */
export async function sendCommand(text, { remember = true } = {}) {
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

/**
 * Clicks a button (or picks in a users_select / static_select) on a message, or on an ephemeral
 * message (`message.ephemeral`): the stand-in finds either by ts and tells the bot which kind it was,
 * as Slack does.
 */
export async function clickButton(message, element, node) {
  // What a click posts usually lands in the message's thread: follow it there when it arrives.
  // An ephemeral message is no thread parent; only one shown inside a thread has one to follow.
  const parentTs = message.ephemeral ? message.thread_ts : (message.thread_ts ?? message.ts);
  const parent = parentTs ? S.messages.get(parentTs) : undefined;
  S.follow = parent ? { parentTs, until: Date.now() + 30_000, replies: replies(parent).length } : null;
  if (node) {
    node.disabled = true;
    node.classList.add('busy');
  }
  try {
    const selected = element.selected_user ?? element.selected_option?.value;
    const result = await post('/api/click', {
      messageTs: message.ts,
      actionId: element.action_id,
      value: element.value,
      user: S.me,
      ...(selected ? { selected } : {}),
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

export function onMessageAction(message) {
  return (element, _block, node) => {
    if (['button', 'users_select', 'static_select'].includes(element.type))
      void clickButton(message, element, node);
    else toast(`The stand-in delivers buttons and select menus only (got ${element.type}).`);
  };
}

/** Notices from the page itself (not from the bot), shown like Slackbot's "only visible to you". */
export const localNotices = [];
export function localNotice(text) {
  localNotices.push({ id: `n${localNotices.length}`, text, at: Date.now() / 1000, channel: S.channel });
  stickToBottom.main = true;
  scheduleRender();
}

/** Opens (or scrolls) the thread where the answer to a button click has just been posted. */
export function followClick() {
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
