// The message box: slash-command autocomplete from the bot's help and an Up/Down command history.

import { sendCommand } from './actions.js';
import { escapeHtml } from './blockkit.js';
import { $, el } from './dom.js';
import { S } from './store.js';

export function renderAutocomplete() {
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

export function setupComposer() {
  const input = $('composer-input');
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    S.historyPos = -1;
    $('autocomplete').hidden = true;
    void sendCommand(text);
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
