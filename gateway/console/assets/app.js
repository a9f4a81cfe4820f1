// The order console's page. Plain JavaScript, no build step. It talks to
// the console's JSON API (same origin, CSRF token in a header) and moves
// object bytes with presigned URLs straight to the S3 API. It never sees
// the secret key.
'use strict';

const BASE = location.pathname.replace(/[^/]*$/, '');
const PART = 8 * 1024 * 1024;        // multipart part size (grows for huge files)
const SINGLE_MAX = 16 * 1024 * 1024; // larger files go in multipart
const PARALLEL_PARTS = 4;
const PARALLEL_FILES = 3;
const PAGE = 200;

const S = { session: null, order: null, bucket: '', prefix: '', next: '', uploads: [] };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function say(text, isError) {
  const m = $('message');
  m.textContent = text || '';
  m.className = isError ? 'error' : '';
  if (isError) m.prepend(el('strong', {}, 'Error: '));
}

async function api(path, body) {
  const opt = { credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opt.method = 'POST';
    opt.headers['Content-Type'] = 'application/json';
    opt.headers['X-CSRF-Token'] = S.session ? S.session.csrf : '';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(BASE + 'api/' + path, opt);
  if (r.status === 401) {
    location.assign(BASE + 'signin');
    throw new Error('Signed out.');
  }
  let j = {};
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw new Error(j.message || j.code || ('HTTP ' + r.status));
  return j;
}

const q = (params) => new URLSearchParams(params).toString();

function bytes(n) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? n + ' bytes' : v.toFixed(v < 10 ? 2 : 1) + ' ' + units[i];
}
const num = (n) => Number(n).toLocaleString('en-US');

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d > 0) return d + ' d ' + h + ' h';
  if (h > 0) return h + ' h ' + m + ' min';
  return m + ' min ' + (s % 60) + ' s';
}

function when(t) { return new Date(t).toLocaleString(); }

// ---- order at a glance ----

async function loadOrder() {
  const o = await api('order');
  S.order = o;
  $('order-id').textContent = o.id || '(unnamed)';
  $('order-state').textContent = o.state + (o.keyReadOnly ? ' · this key is read-only' : '');
  const used = o.used + o.reserved;
  const bar = $('order-bar');
  if (o.capacity > 0) {
    const pct = Math.min(100, used * 100 / o.capacity);
    bar.value = pct;
    bar.hidden = false;
    $('order-used').textContent = bytes(used) + ' of ' + bytes(o.capacity) + ' (' + pct.toFixed(1) + '%) · ' +
      num(used) + ' of ' + num(o.capacity) + ' bytes';
  } else {
    bar.hidden = true;
    $('order-used').textContent = bytes(used) + ' · ' + num(used) + ' bytes (no capacity limit)';
  }
  bar.setAttribute('aria-label', $('order-used').textContent);
  $('order-used').dataset.bytes = used;
  $('order-objects').textContent = num(o.objects);
  if (o.expires) {
    const left = new Date(o.expires) - new Date(o.now);
    $('order-expires').textContent = when(o.expires) + (left > 0 ? ' (in ' + duration(left) + ')' : ' (expired)');
  } else {
    $('order-expires').textContent = 'never';
  }
}

function snippets(s) {
  $('set-endpoint').textContent = s.endpoint;
  $('set-region').textContent = s.region;
  $('set-access-key').textContent = s.accessKey;
  $('snip-aws').textContent =
    'aws configure set aws_access_key_id ' + s.accessKey + '\n' +
    'aws configure set aws_secret_access_key YOUR_SECRET_KEY\n' +
    'aws --endpoint-url ' + s.endpoint + ' --region ' + s.region + ' s3 ls';
  $('snip-boto3').textContent =
    'import boto3\n' +
    's3 = boto3.client("s3", endpoint_url="' + s.endpoint + '", region_name="' + s.region + '",\n' +
    '                  aws_access_key_id="' + s.accessKey + '", aws_secret_access_key="YOUR_SECRET_KEY")\n' +
    'print(s3.list_buckets()["Buckets"])';
  $('snip-rclone').textContent =
    '[order]\ntype = s3\nprovider = Other\nendpoint = ' + s.endpoint + '\nregion = ' + s.region +
    '\naccess_key_id = ' + s.accessKey + '\nsecret_access_key = YOUR_SECRET_KEY';
}

// ---- dialog ----

// ask shows the dialog with body nodes; resolves true on OK.
function ask(title, body, okText, withCancel) {
  const d = $('dialog');
  $('dialog-h').textContent = title;
  $('dialog-body').replaceChildren(...body);
  $('dialog-ok').textContent = okText || 'OK';
  $('dialog-cancel').hidden = !withCancel;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
  });
}

// ---- buckets ----

async function loadBuckets() {
  const { buckets } = await api('buckets');
  const list = $('bucket-list');
  list.replaceChildren();
  if (buckets.length === 0) list.append(el('li', {}, 'No buckets yet.'));
  for (const b of buckets) {
    const li = el('li', { 'data-bucket': b.name },
      el('a', { href: '#' + q({ b: b.name }), class: 'bucket' }, b.name), ' ',
      el('span', { class: 'muted' }, 'created ' + when(b.created)));
    if (!S.session.readOnly) {
      li.append(' ', el('button', { type: 'button', class: 'delete-bucket write', 'aria-label': 'Delete bucket ' + b.name,
        onclick: () => deleteBucket(b.name) }, 'Delete'));
    }
    list.append(li);
  }
}

async function deleteBucket(name) {
  if (!await ask('Delete bucket ' + name + '?', [el('p', {}, 'Only an empty bucket can be deleted.')], 'Delete', true)) return;
  try {
    await api('bucket/delete', { bucket: name });
    say('Bucket ' + name + ' deleted.');
    if (S.bucket === name) location.hash = '';
    await loadBuckets();
  } catch (e) { say(e.message, true); }
}

$('bucket-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('new-bucket').value.trim();
  try {
    await api('bucket/create', { bucket: name });
    $('new-bucket').value = '';
    say('Bucket ' + name + ' created.');
    await loadBuckets();
  } catch (e) { say(e.message, true); }
});

// ---- objects ----

function route() {
  const h = new URLSearchParams(location.hash.slice(1));
  S.bucket = h.get('b') || '';
  S.prefix = h.get('p') || '';
  $('browser').hidden = !S.bucket;
  if (S.bucket) loadObjects(false).catch((e) => say(e.message, true));
}

function go(prefix) { location.hash = q({ b: S.bucket, p: prefix }); }

function crumbs() {
  const nav = $('crumbs');
  nav.replaceChildren(el('a', { href: '#' + q({ b: S.bucket }) }, S.bucket));
  let acc = '';
  for (const part of S.prefix.split('/').filter(Boolean)) {
    acc += part + '/';
    nav.append(' / ', el('a', { href: '#' + q({ b: S.bucket, p: acc }) }, part));
  }
}

async function loadObjects(more) {
  const search = $('search').value;
  const prefix = S.prefix + search;
  if (!more) {
    S.next = '';
    $('objects').tBodies[0].replaceChildren();
    crumbs();
  }
  const params = { bucket: S.bucket, prefix: prefix, max: PAGE };
  if (more && S.next) params.token = S.next;
  const l = await api('objects?' + q(params));
  const body = $('objects').tBodies[0];
  for (const f of l.folders) body.append(folderRow(f));
  for (const o of l.objects) if (o.key !== S.prefix) body.append(objectRow(o));
  if (!more && body.rows.length === 0) body.append(el('tr', {}, el('td', { colspan: 5 }, 'This folder is empty.')));
  S.next = l.next || '';
  $('more').hidden = !S.next;
}

const rel = (key) => key.slice(S.prefix.length);
const ro = () => S.session.readOnly;

function folderRow(prefix) {
  const tr = el('tr', { 'data-prefix': prefix },
    el('td', {}, ''),
    el('td', {}, el('a', { href: '#' + q({ b: S.bucket, p: prefix }), class: 'open' }, rel(prefix))),
    el('td', {}, 'folder'), el('td', {}, ''), el('td', {}));
  if (!ro()) tr.cells[4].append(el('button', { type: 'button', class: 'delete-folder', onclick: () => deleteFolder(prefix),
    'aria-label': 'Delete folder ' + rel(prefix) }, 'Delete'));
  return tr;
}

function objectRow(o) {
  const name = rel(o.key);
  const tr = el('tr', { 'data-key': o.key },
    el('td', {}, ro() ? '' : el('input', { type: 'checkbox', class: 'select', 'aria-label': 'Select ' + name, value: o.key })),
    el('td', {}, el('button', { type: 'button', class: 'link details', onclick: () => details(o.key) }, name)),
    el('td', { 'data-size': o.size }, bytes(o.size)),
    el('td', {}, when(o.modified)),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'download', onclick: () => download(o.key), 'aria-label': 'Download ' + name }, 'Download'),
      ' ',
      el('button', { type: 'button', class: 'share', onclick: () => share(o.key), 'aria-label': 'Share ' + name }, 'Share')));
  if (!ro()) tr.cells[4].append(' ', el('button', { type: 'button', class: 'delete', onclick: () => deleteKeys([o.key]),
    'aria-label': 'Delete ' + name }, 'Delete'));
  return tr;
}

async function details(key) {
  try {
    const d = await api('object?' + q({ bucket: S.bucket, key: key }));
    const dl = el('dl', { class: 'facts' });
    const add = (k, v) => { if (v !== '' && v != null) dl.append(el('dt', {}, k), el('dd', {}, String(v))); };
    add('Key', d.key); add('Size', bytes(d.size) + ' (' + num(d.size) + ' bytes)'); add('Modified', when(d.modified));
    add('Content type', d.contentType); add('ETag', d.etag); add('Version', d.versionId);
    for (const [k, v] of Object.entries(d.checksums || {})) add('Checksum ' + k, v);
    for (const [k, v] of Object.entries(d.metadata || {})) add('x-amz-meta-' + k, v);
    for (const [k, v] of Object.entries(d.tags || {})) add('Tag ' + k, v);
    const body = [dl];
    if (d.versions && d.versions.length > 0) {
      const list = el('ul', { id: 'versions' });
      for (const v of d.versions) {
        const li = el('li', { 'data-version': v.id }, when(v.modified) + ' · ' +
          (v.deleteMarker ? 'delete marker' : bytes(v.size)) + (v.latest ? ' · current' : '') + ' · ' + v.id);
        if (!v.deleteMarker) li.append(' ', el('button', { type: 'button', class: 'download-version',
          onclick: () => download(key, v.id), 'aria-label': 'Download version ' + v.id }, 'Download'));
        list.append(li);
      }
      body.push(el('h3', {}, 'Versions'), list);
    }
    await ask('Object details', body, 'Close', false);
  } catch (e) { say(e.message, true); }
}

async function download(key, versionId) {
  try {
    const { url } = await api('link', { bucket: S.bucket, key: key, versionId: versionId });
    const a = el('a', { href: url, download: key.slice(key.lastIndexOf('/') + 1), hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) { say(e.message, true); }
}

async function share(key) {
  const life = el('select', { id: 'share-life' },
    el('option', { value: 3600 }, '1 hour'), el('option', { value: 86400 }, '1 day'),
    el('option', { value: 604800, selected: true }, '7 days'));
  const out = el('input', { id: 'share-url', readonly: true, 'aria-label': 'Share link' });
  const note = el('p', { id: 'share-note', 'aria-live': 'polite' });
  const make = el('button', { type: 'button', id: 'share-make', onclick: async () => {
    try {
      const r = await api('link', { bucket: S.bucket, key: key, seconds: Number(life.value) });
      out.value = r.url;
      note.textContent = 'Anyone with this link can download the object until ' + when(r.expires) + '.';
    } catch (e) { note.textContent = 'Error: ' + e.message; }
  } }, 'Create link');
  const copy = el('button', { type: 'button', id: 'share-copy', onclick: async () => {
    try { await navigator.clipboard.writeText(out.value); } catch (e) { out.select(); document.execCommand('copy'); }
    note.textContent = 'Copied.';
  } }, 'Copy');
  await ask('Share ' + key, [el('p', {}, el('label', { for: 'share-life' }, 'Link valid for '), life, ' ', make),
    el('p', {}, out, ' ', copy), note], 'Close', false);
}

async function deleteKeys(keys) {
  const what = keys.length === 1 ? rel(keys[0]) : keys.length + ' objects';
  if (!await ask('Delete ' + what + '?', [el('p', {}, 'This deletes ' + keys.length + (keys.length === 1 ? ' object.' : ' objects.'))], 'Delete', true)) return;
  try {
    await api('delete', { bucket: S.bucket, keys: keys });
    say('Deleted ' + what + '.');
    await Promise.all([loadObjects(false), loadOrder()]);
  } catch (e) { say(e.message, true); }
}

async function deleteFolder(prefix) {
  try {
    const c = await api('count?' + q({ bucket: S.bucket, prefix: prefix }));
    const n = c.more ? 'more than ' + num(c.count) : num(c.count);
    if (!await ask('Delete folder ' + rel(prefix) + '?', [el('p', { id: 'confirm-count' }, 'This deletes ' + n + ' objects.')], 'Delete', true)) return;
    const r = await api('delete-prefix', { bucket: S.bucket, prefix: prefix });
    say('Deleted folder ' + rel(prefix) + ' (' + num(r.deleted) + ' objects).');
    await Promise.all([loadObjects(false), loadOrder()]);
  } catch (e) { say(e.message, true); }
}

$('delete-selected').addEventListener('click', () => {
  const keys = [...document.querySelectorAll('#objects input.select:checked')].map((c) => c.value);
  if (keys.length === 0) { say('Select objects to delete first.', true); return; }
  deleteKeys(keys.slice(0, 1000));
});

$('new-folder').addEventListener('click', async () => {
  const input = el('input', { id: 'folder-name', 'aria-label': 'Folder name' });
  if (!await ask('New folder in ' + (S.prefix || S.bucket), [input], 'Create', true)) return;
  const name = input.value.replace(/^\/+|\/+$/g, '');
  if (!name) return;
  try {
    await api('folder', { bucket: S.bucket, prefix: S.prefix + name + '/' });
    go(S.prefix + name + '/');
  } catch (e) { say(e.message, true); }
});

$('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadObjects(false).catch((e) => say(e.message, true)); });
$('more').addEventListener('click', () => loadObjects(true).catch((e) => say(e.message, true)));

// ---- uploads ----

// s3Error returns the words of an S3 XML error answer.
function s3Error(x) {
  const doc = new DOMParser().parseFromString(x.responseText || '', 'application/xml');
  const code = doc.querySelector('Code'), msg = doc.querySelector('Message');
  if (msg) return (code ? code.textContent + ': ' : '') + msg.textContent;
  return 'HTTP ' + x.status;
}

function put(up, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    up.xhrs.add(x);
    x.open('PUT', url);
    x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onload = () => {
      up.xhrs.delete(x);
      if (x.status >= 200 && x.status < 300) { onProgress(body.size); resolve(x); } else reject(new Error(s3Error(x)));
    };
    x.onerror = () => { up.xhrs.delete(x); reject(new Error('the connection was cut off (the order may be full or expired)')); };
    x.onabort = () => { up.xhrs.delete(x); reject(new Error('cancelled')); };
    x.send(body);
  });
}

class Upload {
  constructor(file, key) {
    this.file = file; this.key = key; this.bucket = S.bucket;
    this.loaded = 0; this.xhrs = new Set(); this.cancelled = false; this.state = 'waiting';
    this.bar = el('progress', { max: 100, value: 0, 'aria-label': 'Progress of ' + key });
    this.text = el('span', {}, 'waiting');
    this.li = el('li', { 'data-key': key }, key + ' (' + bytes(file.size) + ') ', this.bar, ' ', this.text);
  }
  progress(loaded) {
    this.loaded = loaded;
    const pct = this.file.size ? Math.floor(loaded * 100 / this.file.size) : 100;
    this.bar.value = pct;
    this.text.textContent = pct + '%';
    totalProgress();
  }
  cancel() {
    this.cancelled = true;
    for (const x of this.xhrs) x.abort();
  }
  async run() {
    this.state = 'running';
    try {
      if (this.file.size <= SINGLE_MAX) await this.single(); else await this.multipart();
      this.state = 'done';
      this.progress(this.file.size);
      this.text.textContent = '100% done';
    } catch (e) {
      this.state = 'failed';
      this.text.textContent = this.cancelled ? 'cancelled' : 'failed: ' + e.message;
      this.li.classList.add('error');
    }
    totalProgress();
  }
  async single() {
    const { url } = await api('upload', { bucket: this.bucket, key: this.key, size: this.file.size });
    if (this.cancelled) throw new Error('cancelled');
    await put(this, url, this.file, (n) => this.progress(n));
  }
  async multipart() {
    const size = this.file.size;
    const partSize = Math.max(PART, Math.ceil(size / 10000));
    const count = Math.ceil(size / partSize);
    const { uploadId } = await api('multipart/create', { bucket: this.bucket, key: this.key, size: size, contentType: this.file.type });
    const id = { bucket: this.bucket, key: this.key, uploadId: uploadId };
    const loaded = new Array(count + 1).fill(0);
    const done = [];
    let next = 1;
    const urls = {};
    const worker = async () => {
      while (next <= count && !this.cancelled) {
        const n = next++;
        if (!urls[n]) {
          const want = [];
          for (let i = n; i <= Math.min(count, n + 99); i++) if (!urls[i]) want.push(i);
          Object.assign(urls, (await api('multipart/urls', Object.assign({ parts: want }, id))).urls);
        }
        const blob = this.file.slice((n - 1) * partSize, Math.min(size, n * partSize));
        const x = await put(this, urls[n], blob, (b) => { loaded[n] = b; this.progress(loaded.reduce((a, c) => a + c, 0)); });
        done.push({ partNumber: n, etag: x.getResponseHeader('ETag') });
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, worker));
      if (this.cancelled) throw new Error('cancelled');
      done.sort((a, b) => a.partNumber - b.partNumber);
      await api('multipart/complete', Object.assign({ done: done }, id));
    } catch (e) {
      this.cancel();
      api('multipart/abort', id).catch(() => {});
      throw e;
    }
  }
}

function totalProgress() {
  const ups = S.uploads;
  const size = ups.reduce((a, u) => a + u.file.size, 0);
  const loaded = ups.reduce((a, u) => a + (u.state === 'done' ? u.file.size : u.loaded), 0);
  const finished = ups.filter((u) => u.state === 'done' || u.state === 'failed').length;
  const failed = ups.filter((u) => u.state === 'failed').length;
  const pct = size ? Math.floor(loaded * 100 / size) : (finished === ups.length ? 100 : 0);
  $('total-progress').value = pct;
  $('total-text').textContent = pct + '% · ' + finished + ' of ' + ups.length + ' files' + (failed ? ' · ' + failed + ' failed' : '') +
    ' · ' + bytes(loaded) + ' of ' + bytes(size);
  $('cancel-uploads').disabled = finished === ups.length;
}

async function upload(items) {
  if (items.length === 0) return;
  S.uploads = items.map((it) => new Upload(it.file, S.prefix + it.path));
  $('uploads').hidden = false;
  $('upload-list').replaceChildren(...S.uploads.map((u) => u.li));
  totalProgress();
  let next = 0;
  const worker = async () => { while (next < S.uploads.length) await S.uploads[next++].run(); };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_FILES, S.uploads.length) }, worker));
  const failed = S.uploads.filter((u) => u.state === 'failed').length;
  say(failed ? failed + ' of ' + S.uploads.length + ' uploads failed.' : 'Uploaded ' + S.uploads.length + ' files.', failed > 0);
  await Promise.all([loadObjects(false), loadOrder()]).catch((e) => say(e.message, true));
}

$('cancel-uploads').addEventListener('click', () => { for (const u of S.uploads) u.cancel(); });

const picked = (files) => [...files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name }));
$('file-input').addEventListener('change', (ev) => { upload(picked(ev.target.files)); ev.target.value = ''; });
$('folder-input').addEventListener('change', (ev) => { upload(picked(ev.target.files)); ev.target.value = ''; });

// entries walks a dropped directory tree into {file, path} items.
async function entries(entry, path, out) {
  if (entry.isFile) {
    out.push({ file: await new Promise((res, rej) => entry.file(res, rej)), path: path + entry.name });
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    for (const e of batch) await entries(e, path + entry.name + '/', out);
  }
}

const dz = $('dropzone');
dz.addEventListener('dragover', (ev) => { ev.preventDefault(); dz.classList.add('over'); });
dz.addEventListener('dragleave', () => dz.classList.remove('over'));
dz.addEventListener('drop', async (ev) => {
  ev.preventDefault();
  dz.classList.remove('over');
  const out = [];
  const roots = [...ev.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (roots.length === 0) { upload(picked(ev.dataTransfer.files)); return; }
  for (const r of roots) await entries(r, '', out);
  upload(out);
});

// ---- start ----

$('signout').addEventListener('click', async () => {
  try { await api('signout', {}); } catch (e) { /* signed out anyway */ }
  location.assign(BASE + 'signin');
});

async function start() {
  try {
    S.session = await api('session');
    document.body.classList.toggle('ro', S.session.readOnly);
    if (S.session.readOnly) for (const e of document.querySelectorAll('.write')) e.remove();
    $('who').textContent = 'Signed in as ' + S.session.accessKey + (S.session.readOnly ? ' (read-only)' : '');
    snippets(S.session);
    await Promise.all([loadOrder(), loadBuckets()]);
    window.addEventListener('hashchange', route);
    route();
    document.body.dataset.ready = 'true';
  } catch (e) { say(e.message, true); }
}
start();
