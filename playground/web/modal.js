// Modals the bot opens with views.open: rendered from Block Kit, checked like Slack, submitted
// through the stand-in.
import { escapeHtml, readInputs, renderBlocks, showInputErrors } from './blockkit.js';
import { $, el, toast } from './dom.js';
import { post, S, scheduleRender } from './store.js';

let shownView = null;

/** Makes the next render build the modal again (another user may be looking now). */
export function forgetShownModal() {
  shownView = null;
}

export function renderModal() {
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

export function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
