// Files the bot uploads: cards with a preview in the thread and a viewer that shows JSON indented
// and coloured, a chunk at a time.
import { escapeHtml } from './blockkit.js';
import { $, el, fileSize, nearBottom, toast } from './dom.js';
import { S } from './store.js';

export const fileCache = new Map();

/** Fetches a file once; JSON is parsed and re-indented so it reads well whatever the bot sent. */
export function loadFile(id) {
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

export function fileKind(f) {
  const ext = /\.([a-z0-9]+)$/i.exec(f?.name ?? '')?.[1]?.toLowerCase() ?? '';
  return ext === 'json' ? 'JSON' : ext === 'txt' ? 'Plain text' : ext.toUpperCase() || 'File';
}

export function fileCard(id) {
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
export function highlightJson(line) {
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

export const VIEW_CHUNK = 2000;

export async function openFile(id) {
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

export function closeFile() {
  const overlay = $('file-viewer');
  overlay.hidden = true;
  overlay.replaceChildren();
}
