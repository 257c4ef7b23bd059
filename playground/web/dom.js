// Small DOM and formatting helpers shared by the playground modules.

export const $ = (id) => document.getElementById(id);

let toastTimer;
export function toast(text) {
  const node = $('toast');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 5000);
}

export function el(tag, className, html) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

export function time(at) {
  return new Date(at * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/** The short time Slack shows in the gutter of a grouped message (no AM/PM). */
export function shortTime(at) {
  return time(at).replace(/\s?[AP]M$/i, '');
}

export function dayAndTime(at) {
  const d = new Date(at * 1000);
  const today = new Date();
  const day =
    d.toDateString() === today.toDateString()
      ? 'today'
      : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return `${day} at ${time(at)}`;
}

export function fileSize(n) {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function dayOf(at) {
  return new Date(at * 1000).toDateString();
}

export function dayLabel(at) {
  const d = new Date(at * 1000);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

export function nearBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
}
