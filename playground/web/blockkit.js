// Renders Slack Block Kit and mrkdwn to DOM, close enough to Slack's own layout that a screenshot
// of the playground reads like the real thing. Only what Cartographer's bot sends is supported;
// anything else is shown as a labelled placeholder rather than silently dropped.

const EMOJI = {
  rotating_light: '🚨',
  warning: '⚠️',
  red_circle: '🔴',
  large_orange_circle: '🟠',
  large_yellow_circle: '🟡',
  large_blue_circle: '🔵',
  white_circle: '⚪',
  white_check_mark: '✅',
  x: '❌',
  mag: '🔍',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  computer: '💻',
  globe_with_meridians: '🌐',
  key: '🔑',
  lock: '🔒',
  bust_in_silhouette: '👤',
  robot_face: '🤖',
  clipboard: '📋',
  page_facing_up: '📄',
  calendar: '📅',
  zzz: '💤',
  repeat: '🔁',
  dart: '🎯',
  bell: '🔔',
  shield: '🛡️',
  chart_with_upwards_trend: '📈',
  information_source: 'ℹ️',
  stopwatch: '⏱️',
  earth_americas: '🌎',
  fire: '🔥',
  new: '🆕',
  pushpin: '📌',
  link: '🔗',
  speech_balloon: '💬',
  arrow_right: '➡️',
  point_right: '👉',
  sparkles: '✨',
  heavy_check_mark: '✔️',
  no_entry: '⛔',
  eyes: '👀',
  spiral_note_pad: '🗒️',
  card_index_dividers: '🗂️',
  black_small_square: '▪️',
  small_orange_diamond: '🔸',
  small_blue_diamond: '🔹',
};

/** How `<@U…>` and `<#C…>` are named, and who a users_select offers; the page sets these from its workspace. */
const names = { user: (id) => id, channel: (id) => id, users: () => [] };

export function setNameResolvers({ user, channel, users }) {
  if (user) names.user = user;
  if (channel) names.channel = channel;
  if (users) names.users = users;
}

function escapeHtml(s) {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

/** Slack escapes &, < and > in text; undo that after we have parsed links. */
function unescapeSlack(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emoji(s) {
  return s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);
}

/**
 * Inline mrkdwn (no code blocks): inline code, links, mentions, bold, italic, strike. Code spans are
 * set aside first so their content is left alone, but formatting may wrap them, as in Slack
 * (`*`iam:GetUser` ×81*` is bold around the code).
 */
function inline(text) {
  const codes = [];
  const held = text.replace(/`([^`\n]+)`/g, (_, code) => {
    codes.push(code);
    return `\uE000${codes.length - 1}\uE001`;
  });
  let html = '';
  let last = 0;
  const linkRe = /<([^>|]+)(?:\|([^>]+))?>/g;
  for (let m = linkRe.exec(held); m; m = linkRe.exec(held)) {
    html += formatText(held.slice(last, m.index));
    const target = m[1];
    const label = m[2];
    if (target.startsWith('@'))
      html += `<span class="mention">@${escapeHtml(label ?? names.user(target.slice(1)))}</span>`;
    else if (target.startsWith('#'))
      html += `<span class="mention">#${escapeHtml(label ?? names.channel(target.slice(1)))}</span>`;
    else if (target.startsWith('!'))
      // <!here>, <!channel>, <!subteam^S123|@soc-team>: the label, if any, is what Slack shows.
      html += `<span class="mention">${escapeHtml(label ?? `@${target.slice(1).split('^')[0]}`)}</span>`;
    else {
      const href = unescapeSlack(target);
      const safe = /^(https?:|mailto:)/i.test(href) ? href : '#';
      html += `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${formatText(label ?? target)}</a>`;
    }
    last = m.index + m[0].length;
  }
  html += formatText(held.slice(last));
  return html.replace(
    /\uE000(\d+)\uE001/g,
    (_, i) => `<code>${escapeHtml(unescapeSlack(codes[Number(i)]))}</code>`,
  );
}

function formatText(raw) {
  let s = escapeHtml(emoji(unescapeSlack(raw)));
  s = s.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1<b>$2</b>');
  s = s.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, '$1<i>$2</i>');
  s = s.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, '$1<s>$2</s>');
  return s;
}

/** Full mrkdwn: code blocks, block quotes, then inline formatting line by line. */
export function mrkdwn(text) {
  const out = [];
  const chunks = String(text ?? '').split(/```/);
  chunks.forEach((chunk, i) => {
    if (i % 2 === 1) {
      out.push(
        `<pre class="code">${escapeHtml(unescapeSlack(chunk.replace(/^\n/, '').replace(/\n$/, '')))}</pre>`,
      );
      return;
    }
    const lines = chunk.split('\n');
    let quote = [];
    const flushQuote = () => {
      if (quote.length) out.push(`<blockquote>${quote.map(inline).join('<br>')}</blockquote>`);
      quote = [];
    };
    lines.forEach((line, j) => {
      if (line.startsWith('&gt; ') || line.startsWith('> ')) {
        quote.push(line.replace(/^(&gt;|>) /, ''));
        return;
      }
      flushQuote();
      out.push(inline(line) + (j < lines.length - 1 ? '<br>' : ''));
    });
    flushQuote();
  });
  return out.join('');
}

function textObject(t) {
  if (!t) return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text) : escapeHtml(emoji(t.text ?? ''));
}

function el(tag, className, html) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

function button(element, onAction) {
  const b = el('button', `bk-button ${element.style ?? ''}`.trim(), textObject(element.text));
  b.dataset.actionId = element.action_id ?? '';
  if (element.url) {
    b.addEventListener('click', () => window.open(element.url, '_blank', 'noopener'));
  } else {
    b.addEventListener('click', () => onAction(element, b));
  }
  return b;
}

function renderElement(element, onAction) {
  switch (element.type) {
    case 'button':
      return button(element, onAction);
    case 'static_select': {
      const options = element.options ?? (element.option_groups ?? []).flatMap((g) => g.options);
      const choices = options.map((o) => ({ value: o.value, label: textObject(o.text) }));
      return selectMenu(element, choices, element.initial_option?.value, (value) =>
        onAction({ ...element, selected_option: options.find((o) => o.value === value) }),
      );
    }
    case 'users_select': {
      const choices = names.users().map((u) => ({ value: u.id, label: escapeHtml(u.name) }));
      return selectMenu(element, choices, element.initial_user, (value) =>
        onAction({ ...element, selected_user: value }),
      );
    }
    case 'image': {
      const img = el('img', 'bk-image');
      img.src = element.image_url;
      img.alt = element.alt_text ?? '';
      return img;
    }
    case 'mrkdwn':
    case 'plain_text':
      return el('span', 'bk-context-text', textObject(element));
    default:
      return el('span', 'bk-unsupported', `[${escapeHtml(element.type)}]`);
  }
}

/** A select menu as Slack shows it in a message: the placeholder until something is picked. */
function selectMenu(element, choices, initial, onPick) {
  const wrap = el('span', 'bk-select');
  const select = el('select');
  select.dataset.actionId = element.action_id ?? '';
  select.setAttribute('aria-label', element.placeholder?.text ?? 'Choose');
  const none = el('option', '', textObject(element.placeholder) || 'Choose…');
  none.value = '';
  none.disabled = true;
  select.appendChild(none);
  for (const c of choices) {
    const opt = el('option', '', c.label);
    opt.value = c.value;
    select.appendChild(opt);
  }
  select.value = choices.some((c) => c.value === initial) ? initial : '';
  select.addEventListener('change', () => {
    if (select.value) onPick(select.value);
  });
  wrap.appendChild(select);
  return wrap;
}

/**
 * Renders an array of blocks into a container element. `onAction(element, block, node)` receives
 * clicks and selections (`node` is the button or select, so the caller can show it is busy).
 */
export function renderBlocks(blocks, onAction) {
  const root = el('div', 'blocks');
  for (const block of blocks ?? []) {
    const act = (element, node) => onAction(element, block, node);
    switch (block.type) {
      case 'header':
        root.appendChild(el('div', 'bk-header', textObject(block.text)));
        break;
      case 'section': {
        const section = el('div', 'bk-section');
        const body = el('div', 'bk-section-body');
        if (block.text) body.appendChild(el('div', 'bk-text', textObject(block.text)));
        if (block.fields?.length) {
          const fields = el('div', 'bk-fields');
          for (const f of block.fields) fields.appendChild(el('div', 'bk-field', textObject(f)));
          body.appendChild(fields);
        }
        section.appendChild(body);
        if (block.accessory) {
          const acc = el('div', 'bk-accessory');
          acc.appendChild(renderElement(block.accessory, act));
          section.appendChild(acc);
        }
        root.appendChild(section);
        break;
      }
      case 'context': {
        const ctx = el('div', 'bk-context');
        for (const e of block.elements ?? []) ctx.appendChild(renderElement(e, act));
        root.appendChild(ctx);
        break;
      }
      case 'divider':
        root.appendChild(el('hr', 'bk-divider'));
        break;
      case 'actions': {
        const actions = el('div', 'bk-actions');
        for (const e of block.elements ?? []) actions.appendChild(renderElement(e, act));
        root.appendChild(actions);
        break;
      }
      case 'rich_text':
        root.appendChild(el('div', 'bk-text', richText(block)));
        break;
      case 'image': {
        const img = el('img', 'bk-image');
        img.src = block.image_url;
        img.alt = block.alt_text ?? '';
        root.appendChild(img);
        break;
      }
      case 'input':
        root.appendChild(inputBlock(block));
        break;
      default:
        root.appendChild(el('div', 'bk-unsupported', `[unsupported block: ${escapeHtml(block.type)}]`));
    }
  }
  return root;
}

/** The subset of rich_text Slack clients send back: sections, preformatted, quotes, lists. */
function richText(block) {
  const inlineEls = (elements) =>
    (elements ?? [])
      .map((e) => {
        if (e.type === 'text') {
          let s = escapeHtml(e.text);
          if (e.style?.code) s = `<code>${s}</code>`;
          if (e.style?.bold) s = `<b>${s}</b>`;
          if (e.style?.italic) s = `<i>${s}</i>`;
          return s;
        }
        if (e.type === 'link') return `<a href="${escapeHtml(e.url)}">${escapeHtml(e.text ?? e.url)}</a>`;
        if (e.type === 'emoji') return EMOJI[e.name] ?? `:${escapeHtml(e.name)}:`;
        return '';
      })
      .join('');
  return (block.elements ?? [])
    .map((e) => {
      if (e.type === 'rich_text_preformatted') return `<pre class="code">${inlineEls(e.elements)}</pre>`;
      if (e.type === 'rich_text_quote') return `<blockquote>${inlineEls(e.elements)}</blockquote>`;
      if (e.type === 'rich_text_list')
        return `<ul>${(e.elements ?? []).map((i) => `<li>${inlineEls(i.elements)}</li>`).join('')}</ul>`;
      return `<div>${inlineEls(e.elements).replace(/\n/g, '<br>')}</div>`;
    })
    .join('');
}

/** An input block of a modal: label, the control, hint and a slot for the error Slack would show. */
function inputBlock(block) {
  const wrap = el('div', 'bk-input');
  wrap.dataset.blockId = block.block_id ?? '';
  const element = block.element ?? {};
  const id = `in-${block.block_id}-${element.action_id}`;
  const label = el('label', 'bk-input-label', textObject(block.label));
  label.htmlFor = id;
  if (block.optional) label.appendChild(el('span', 'bk-optional', ' (optional)'));
  wrap.appendChild(label);
  let control;
  if (element.type === 'static_select') {
    control = el('select', 'bk-input-control');
    const options = element.options ?? (element.option_groups ?? []).flatMap((g) => g.options);
    if (!element.initial_option) {
      const none = el('option', '', textObject(element.placeholder) || 'Select an item');
      none.value = '';
      control.appendChild(none);
    }
    for (const o of options) {
      const opt = el('option', '', textObject(o.text));
      opt.value = o.value;
      if (element.initial_option?.value === o.value) opt.selected = true;
      control.appendChild(opt);
    }
  } else if (element.type === 'plain_text_input') {
    control = el(element.multiline ? 'textarea' : 'input', 'bk-input-control');
    if (!element.multiline) control.type = 'text';
    if (element.initial_value) control.value = element.initial_value;
    if (element.placeholder) control.placeholder = element.placeholder.text ?? '';
    if (element.max_length) control.maxLength = element.max_length;
    if (element.min_length) control.dataset.minLength = String(element.min_length);
  } else {
    control = el('div', 'bk-unsupported', `[unsupported input: ${escapeHtml(element.type)}]`);
  }
  control.id = id;
  control.dataset.actionId = element.action_id ?? '';
  control.dataset.optional = block.optional ? 'true' : 'false';
  wrap.appendChild(control);
  if (block.hint) wrap.appendChild(el('div', 'bk-hint', textObject(block.hint)));
  wrap.appendChild(el('div', 'bk-input-error'));
  return wrap;
}

/**
 * Reads a rendered modal's inputs the way Slack checks them before submitting: required fields and
 * min/max length are enforced in the client. Returns `{ values: {block_id: {action_id: value}}, errors }`.
 */
export function readInputs(root) {
  const values = {};
  const errors = {};
  for (const wrap of root.querySelectorAll('.bk-input')) {
    const control = wrap.querySelector('.bk-input-control');
    if (!control) continue;
    const blockId = wrap.dataset.blockId;
    const value = control.value ?? '';
    const min = Number(control.dataset.minLength ?? 0);
    if (!value.trim() && control.dataset.optional !== 'true')
      errors[blockId] = 'Please complete this required field.';
    else if (value && min && value.length < min) errors[blockId] = `Must have at least ${min} characters`;
    values[blockId] = { [control.dataset.actionId]: value };
  }
  return { values, errors };
}

/** Shows errors (`{block_id: message}`, as in `response_action: errors`) under their inputs. */
export function showInputErrors(root, errors) {
  for (const wrap of root.querySelectorAll('.bk-input')) {
    const message = errors[wrap.dataset.blockId];
    wrap.classList.toggle('has-error', Boolean(message));
    const slot = wrap.querySelector('.bk-input-error');
    if (slot) slot.textContent = message ?? '';
  }
}

export { escapeHtml, textObject };
