// The observer's web page: reads the node's JSON API (relative to this page, so it also works when the observer
// is mounted under a prefix) and follows its event stream.
//
// Design note. The event stream says *that* something changed, not the new state: every spawn, exit, restart or
// crash marks the tree, the visible table page and the open process as stale, and one throttled refresh reads
// them again (a restart storm costs a few requests a second, not one per event). The table shows one page of
// api/processes (offset/limit), never every process, so the DOM stays small with 10,000 processes; the tree shows
// at most TREE_CHILDREN children per supervisor until asked for more. Mailbox sizes are sampled from the whole
// process list at an interval that grows with its cost (SAMPLE_COST_SHARE), since the API has no "busiest" query.
// Every value from the node reaches the DOM as text (never as HTML).
'use strict';

(() => {
  const TOKEN = new URLSearchParams(location.search).get('token');
  const REFRESH_MS = 700;            // at most one refresh of tree/page/details per this many ms
  const EVENTS_SHOWN = 200;
  const CRASHES_SHOWN = 100;
  const TREE_CHILDREN = 100;         // children shown per tree node before "show more"
  const SPARKS_SHOWN = 8;            // the busiest mailboxes drawn
  const SPARK_SAMPLES = 60;          // samples kept per drawn mailbox
  const SAMPLE_MIN_MS = 2000;
  const SAMPLE_COST_SHARE = 20;      // wait at least 20x as long as the last sample took (<= 5% of the node's time)

  const $ = (id) => document.getElementById(id);

  /** A DOM element: props are properties (className, textContent, dataset: {...}, onclick, ...). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const isDurable = (pid) => typeof pid === 'string' && !/^\{[^|]*@/.test(pid);  // durable PIDs have no @node
  const pidId = (pid) => pid.slice(pid.indexOf('|') + 1, -1);
  const fmtTime = (seconds) => new Date(seconds * 1000).toLocaleTimeString();
  const fmtNumber = (n) => (n === null || n === undefined ? '' : Number(n).toLocaleString());

  // -- the API ----------------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (TOKEN) headers.set('Authorization', `Bearer ${TOKEN}`);
    const answer = await fetch(path, { ...options, headers });
    const text = await answer.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: text }; }
    if (answer.status === 401) {
      banner(TOKEN ? 'the token in this page\'s URL was refused'
                   : 'this observer needs its token: open the page as /?token=<token>');
    }
    if (!answer.ok) throw new ApiError(answer.status, body);
    return body;
  }

  const processPath = (pid, action) => `api/processes/${encodeURIComponent(pid)}${action ? `/${action}` : ''}`;

  function banner(text) {
    const node = $('banner');
    node.textContent = text;
    node.hidden = !text;
  }

  // -- selection: one process shown in the details panel ---------------------------------------------------------
  const state = {
    selected: null,       // the PID in the details panel
    offset: 0,
    limit: 100,
    host: '',
    total: 0,
    hosts: new Set(),
    durable: new Map(),   // durable PID -> {info, at}: workflow id, run id, status, UI link for the tree
    expanded: new Map(),  // tree PID -> how many children to show
    collapsed: new Set(), // tree PIDs collapsed
  };

  /** A PID for lists: a local PID's node name (the same for every local process here) elided. */
  const shortPid = (pid) => pid.replace(/@[^|{}]+\|/, '@…|');

  function pidLink(pid, full) {
    if (!pid) return el('span', { className: 'empty' }, '—');
    return el('a', { className: 'pid', href: '#', title: pid, dataset: { pid }, textContent: full ? pid : shortPid(pid),
                     onclick: (e) => { e.preventDefault(); e.stopPropagation(); select(pid); } });
  }

  function select(pid) {
    state.selected = pid;
    markSelected();
    loadDetails();
  }

  function markSelected() {
    for (const node of document.querySelectorAll('.selected')) node.classList.remove('selected');
    if (!state.selected) return;
    for (const node of document.querySelectorAll('[data-row-pid], [data-node-pid]')) {
      if ((node.dataset.rowPid || node.dataset.nodePid) === state.selected) node.classList.add('selected');
    }
  }

  // -- refresh: coalesced and throttled ---------------------------------------------------------------------------
  /** ``work`` runs at most once per ``ms`` (or per 10x as long as it last took: a slow node is asked less often)
   * and never twice at once; calls in between are merged into one. */
  function throttled(work, ms) {
    let last = 0, took = 0, timer = null, running = false, again = false;
    const run = async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      last = Date.now();
      try { await work(); } catch (err) { console.error(err); } finally {
        took = Date.now() - last;
        running = false;
        if (again) { again = false; schedule(); }
      }
    };
    const schedule = () => {
      if (timer !== null) return;
      if (running) { again = true; return; }
      timer = setTimeout(run, Math.max(0, Math.max(ms, took * 10) - (Date.now() - last)));
    };
    return schedule;
  }

  const refreshTree = throttled(loadTree, REFRESH_MS);
  const refreshPage = throttled(loadPage, REFRESH_MS);
  const refreshDetails = throttled(loadDetails, REFRESH_MS);
  const refreshAll = () => { refreshTree(); refreshPage(); if (state.selected) refreshDetails(); };

  // -- the supervision tree ---------------------------------------------------------------------------------------
  async function loadTree() {
    let answer;
    try {
      answer = await api('api/tree');
    } catch (err) {
      $('tree').replaceChildren(el('p', { className: 'empty' }, `tree unavailable: ${err.message}`));
      return;
    }
    const roots = answer.tree || [];
    const list = el('ul', null, roots.map(renderTreeNode));
    $('tree').replaceChildren(roots.length ? list : el('p', { className: 'empty' }, 'no supervisor is running'));
    for (const root of roots) noteHosts(root);
    markSelected();
    loadDurable(roots);
  }

  function noteHosts(node) {
    addHost(node.host);
    for (const child of node.children || []) noteHosts(child);
  }

  function renderTreeNode(node) {
    const children = node.children || [];
    const durable = isDurable(node.pid);
    const collapsed = state.collapsed.has(node.pid);
    const row = el('div', { className: `node${durable ? ' durable' : ''}`, dataset: { nodePid: node.pid } },
      el('button', { className: 'toggle', type: 'button', title: collapsed ? 'expand' : 'collapse',
                     textContent: children.length ? (collapsed ? '▸' : '▾') : '·', disabled: !children.length,
                     onclick: (e) => { e.stopPropagation(); toggle(state.collapsed, node.pid); refreshTree(); } }),
      node.child_id !== null && node.child_id !== undefined
        ? el('span', { className: 'child-id' }, node.child_id) : null,
      el('span', { className: 'entry' }, node.entry || ''),
      el('span', { className: `status status-${node.status}` }, node.status),
      node.restarts ? el('span', { className: 'badge restarts', title: 'restarts by its supervisor' },
                         `↻ ${node.restarts}`) : null,
      children.length ? el('span', { className: 'badge', title: 'children' }, `${children.length} children`) : null,
      pidLink(node.pid),
      durable ? durableBadges(node.pid) : null);
    row.addEventListener('click', () => select(node.pid));
    const item = el('li', { dataset: { pid: node.pid, childId: node.child_id || '' } }, row);
    if (children.length && !collapsed) {
      const shown = state.expanded.get(node.pid) || TREE_CHILDREN;
      item.append(el('ul', null, children.slice(0, shown).map(renderTreeNode)));
      const hidden = children.length - shown;
      if (hidden > 0) {
        item.append(el('button', {
          className: 'more', type: 'button', textContent: `show ${Math.min(TREE_CHILDREN, hidden)} more of ${hidden}`,
          onclick: () => { state.expanded.set(node.pid, shown + TREE_CHILDREN); refreshTree(); } }));
      }
    }
    return item;
  }

  function toggle(set, key) { if (set.has(key)) set.delete(key); else set.add(key); }

  /** The durable marks of a tree node: its workflow id and, once known, its Temporal UI link. */
  function durableBadges(pid) {
    const known = state.durable.get(pid);
    const durable = known && known.info && known.info.durable;
    const workflowId = durable ? durable.workflow_id : pidId(pid);
    const dataset = durable ? { workflowId, workflowStatus: durable.status } : { workflowId };  // status: details read
    return el('span', { className: 'durable-marks', dataset },
      el('span', { className: 'badge durable', title: 'a durable process: a Temporal workflow' }, 'durable'),
      el('span', { className: 'workflow-id', title: 'workflow id' }, workflowId),
      durable && durable.ui_url ? el('a', { className: 'temporal-ui', href: durable.ui_url, target: '_blank',
                                            rel: 'noopener', textContent: 'Temporal UI ↗',
                                            onclick: (e) => e.stopPropagation() }) : null);
  }

  /** Ask for the durable children's details (workflow status, UI link), at most every 10 s per workflow. */
  async function loadDurable(roots) {
    const pids = [];
    const walk = (node) => { if (isDurable(node.pid)) pids.push(node.pid); (node.children || []).forEach(walk); };
    roots.forEach(walk);
    const stale = pids.filter((pid) => !state.durable.has(pid) || Date.now() - state.durable.get(pid).at > 10000);
    if (!stale.length) return;
    await Promise.all(stale.slice(0, 20).map(async (pid) => {
      state.durable.set(pid, { info: (state.durable.get(pid) || {}).info, at: Date.now() });
      try { state.durable.get(pid).info = await api(processPath(pid)); } catch (_) { /* gone or unreachable */ }
    }));
    for (const pid of stale) {
      for (const marks of document.querySelectorAll('li[data-pid] > .node.durable')) {
        if (marks.dataset.nodePid === pid) marks.querySelector('.durable-marks').replaceWith(durableBadges(pid));
      }
    }
  }

  // -- the process table: one page of api/processes ---------------------------------------------------------------
  let pageRequests = 0;  // a page's answer that a newer request overtook is dropped (it would show old rows
                         // under the new page's range)
  async function loadPage() {
    const request = ++pageRequests;
    const params = new URLSearchParams({ offset: state.offset, limit: state.limit });
    if (state.host) params.set('host', state.host);
    let answer;
    try {
      answer = await api(`api/processes?${params}`);
      if (request !== pageRequests) return;
    } catch (err) {
      if (request !== pageRequests) return;
      const cell = el('td', { colSpan: 10, className: 'empty' }, err.message);
      $('processes').tBodies[0].replaceChildren(el('tr', null, cell));
      $('page-range').textContent = '';
      return;
    }
    state.total = answer.total;
    if (state.offset > 0 && state.offset >= answer.total) {  // the page emptied (processes ended): step back
      state.offset = Math.max(0, Math.floor((answer.total - 1) / state.limit) * state.limit);
      return loadPage();
    }
    const rows = answer.processes.map(renderRow);
    $('processes').tBodies[0].replaceChildren(...rows);
    const first = answer.total ? state.offset + 1 : 0;
    const upTo = state.offset + rows.length;
    $('page-range').textContent = `${fmtNumber(first)}–${fmtNumber(upTo)} of ${fmtNumber(answer.total)}`;
    $('page-prev').disabled = $('page-first').disabled = state.offset === 0;
    $('page-next').disabled = $('page-last').disabled = state.offset + state.limit >= answer.total;
    $('summary').textContent = `${fmtNumber(answer.total)} processes${state.host ? ` on ${state.host}` : ''}`;
    for (const p of answer.processes) addHost(p.host);
    markSelected();
  }

  function renderRow(p) {
    const row = el('tr', { className: p.durable ? 'durable' : '', dataset: { rowPid: p.pid } },
      el('td', null, pidLink(p.pid)),
      el('td', null, p.entry || ''),
      el('td', null, p.host),
      el('td', { className: `status-${p.status}` }, p.status),
      el('td', { className: 'num' }, fmtNumber(p.mailbox)),
      el('td', { className: 'num' }, fmtNumber(p.messages_in)),
      el('td', { className: 'num' }, fmtNumber(p.messages_out)),
      el('td', { className: 'num' }, fmtNumber(p.restarts)),
      el('td', null, (p.names || []).join(', ')),
      el('td', null, p.durable ? p.durable.workflow_id : ''));
    row.addEventListener('click', () => select(p.pid));
    return row;
  }

  function addHost(host) {
    if (!host || state.hosts.has(host)) return;
    state.hosts.add(host);
    $('hosts').append(el('option', { value: host }));
  }

  function goTo(offset) {
    const last = Math.max(0, Math.floor((state.total - 1) / state.limit) * state.limit);
    state.offset = Math.min(Math.max(0, offset), last);
    loadPage();
  }

  // -- the details panel -------------------------------------------------------------------------------------------
  const FIELD_LABELS = { messages_in: 'messages in', messages_out: 'messages out', monitored_by: 'monitored by',
                         trap_links: 'traps links', lua_where: 'Lua waits at', started_at: 'started' };

  async function loadDetails() {
    const pid = state.selected;
    if (!pid) return;
    const panel = $('details');
    let info;
    try {
      info = await api(processPath(pid));
    } catch (err) {
      if (pid !== state.selected) return;
      if (err.status === 404 && panel.dataset.pid === pid) {  // it ended: keep what was known, greyed
        panel.classList.add('gone');
        const note = panel.querySelector('.gone-note');
        if (!note) panel.prepend(el('p', { className: 'gone-note empty' }, 'this process has ended'));
        return;
      }
      panel.replaceChildren(el('p', { className: 'empty' }, `${pid}: ${err.message}`));
      panel.dataset.pid = pid;
      return;
    }
    if (pid !== state.selected) return;  // another process was clicked meanwhile
    const keep = panel.dataset.pid === pid ? panel.querySelector('.actions') : null;  // keep typed input
    panel.classList.remove('gone');
    panel.dataset.pid = pid;
    panel.replaceChildren(renderInfo(info), keep || renderActions(pid));
  }

  function renderInfo(info) {
    const list = el('dl', { id: 'details-fields' });
    for (const [key, value] of Object.entries(info)) {
      list.append(el('dt', null, FIELD_LABELS[key] || key),
                  el('dd', { dataset: { field: key } }, renderField(key, value)));
    }
    return list;
  }

  function renderField(key, value) {
    if (value === null || value === undefined) return el('span', { className: 'empty' }, '—');
    if (key === 'pid') return el('span', { className: 'pid' }, value);
    if (key === 'parent') return pidLink(value, true);
    if (['links', 'monitors', 'monitored_by'].includes(key)) {
      return value.length ? value.map((pid) => pidLink(pid, true)) : el('span', { className: 'empty' }, 'none');
    }
    if (key === 'started_at') {
      return `${new Date(value * 1000).toLocaleString()} (${fmtAge(Date.now() / 1000 - value)} ago)`;
    }
    if (key === 'status') return el('span', { className: `status-${value}` }, value);
    if (key === 'names') return value.length ? value.join(', ') : el('span', { className: 'empty' }, 'none');
    if (key === 'durable') {
      return el('dl', { className: 'durable' },
        ...Object.entries(value).flatMap(([k, v]) => [el('dt', null, k.replace('_', ' ')),
          el('dd', { dataset: { field: `durable.${k}` } },
             k === 'ui_url' && v
               ? el('a', { href: v, target: '_blank', rel: 'noopener', className: 'temporal-ui' }, 'Temporal UI ↗')
                                 : (v === null ? '—' : String(v)))]));
    }
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (typeof value === 'number') return fmtNumber(value);
    if (typeof value === 'object') return el('code', null, JSON.stringify(value));
    return String(value);
  }

  function fmtAge(seconds) {
    if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
    if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }

  function renderActions(pid) {
    const result = el('p', { className: 'result', id: 'action-result' });
    const deadline = el('input', { id: 'cancel-deadline', value: '5s', size: 5, title: 'the cancel deadline' });
    const topic = el('input', { id: 'send-topic', placeholder: 'topic', size: 14 });
    const data = el('textarea', { id: 'send-data', rows: 2, placeholder: 'data as JSON (empty: null)' });
    const act = async (what, question, path, body) => {
      if (!(await confirmAction(question))) {
        result.className = 'result';
        result.textContent = `${what}: not confirmed`;
        return;
      }
      try {
        await api(processPath(pid, path), { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                            body: JSON.stringify(body) });
        result.className = 'result ok';
        result.textContent = `${what}: done`;
      } catch (err) {
        result.className = 'result bad';
        result.textContent = `${what}: ${err.message}`;
      }
      refreshAll();
    };
    return el('div', { className: 'actions' },
      el('div', { className: 'row' },
        el('button', { type: 'button', id: 'action-terminate', className: 'danger', textContent: 'Terminate',
                       onclick: () => act('terminate', `Terminate ${pid} now?`, 'terminate', {}) }),
        el('button', { type: 'button', id: 'action-cancel', textContent: 'Cancel',
                       onclick: () => act('cancel',
                                          `Cancel ${pid} (terminated if still running after ${deadline.value})?`,
                                          'cancel', { deadline: deadline.value }) }),
        el('label', null, 'deadline ', deadline)),
      el('div', { className: 'row' }, topic,
        el('button', { type: 'button', id: 'action-send', textContent: 'Send',
                       onclick: () => {
                         let value = null;
                         try { value = data.value.trim() ? JSON.parse(data.value) : null; } catch (err) {
                           result.className = 'result bad';
                           result.textContent = `send: the data is not JSON: ${err.message}`;
                           return;
                         }
                         act('send', `Send "${topic.value}" to ${pid}?`, 'send', { topic: topic.value, data: value });
                       } })),
      data, result);
  }

  /** Resolves true when the user confirms ``question`` in the page's dialog. */
  function confirmAction(question) {
    const dialog = $('confirm');
    $('confirm-text').textContent = question;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
    });
  }

  // -- events: the log, the crash log and the refreshes they cause --------------------------------------------------
  const pendingEvents = [];
  let flushQueued = false;

  function onEvent(event) {
    pendingEvents.push(event);
    if (event.kind === 'crash') addCrash(event);
    if (!flushQueued) { flushQueued = true; requestAnimationFrame(flushEvents); }
    refreshTree();
    refreshPage();
    const affected = [event.pid, event.details && event.details.new_pid, event.details && event.details.supervisor_pid];
    if (state.selected && affected.includes(state.selected)) refreshDetails();
  }

  function flushEvents() {  // once per frame: a storm of events is drawn once, and only the newest
    flushQueued = false;
    const list = $('events');
    const batch = pendingEvents.splice(0).slice(-EVENTS_SHOWN);
    list.prepend(...batch.reverse().map(renderEvent));
    while (list.children.length > EVENTS_SHOWN) list.lastChild.remove();
  }

  function errorText(error) {
    if (!error) return '';
    return `${error.kind || ''}${error.message ? `: ${error.message}` : ''}`;
  }

  function renderEvent(event) {
    const d = event.details || {};
    let what = [];
    if (event.kind === 'spawn') what = ['by ', pidLink(d.parent)];
    else if (event.kind === 'exit') what = [d.kind === 'normal' || !d.error ? 'normal' : errorText(d.error)];
    else if (event.kind === 'restart') {
      what = [`${d.child_id || ''} → `, pidLink(d.new_pid), d.restarts ? ` (restart ${d.restarts})` : ''];
    }
    else if (event.kind === 'crash') what = [errorText(d.error)];
    else if (event.kind === 'dropped') what = [`${d.dropped} events were lost: the page read everything again`];
    const abnormal = event.kind === 'exit' && d.error ? ' abnormal' : '';
    return el('li', { dataset: { kind: event.kind, pid: event.pid || '' } },
      el('time', null, fmtTime(event.at || Date.now() / 1000)),
      el('span', { className: `kind kind-${event.kind}${abnormal}` }, event.kind),
      event.pid ? pidLink(event.pid) : null, ' ',
      event.entry ? el('span', { className: 'entry' }, event.entry, ' ') : null, ...what);
  }

  function addCrash(event) {
    const error = (event.details && event.details.error) || {};
    const details = error.details;
    const trace = details && typeof details.traceback === 'string' ? details.traceback : null;
    const rest = details && typeof details === 'object'
      ? Object.fromEntries(Object.entries(details).filter(([k]) => k !== 'traceback')) : details;
    const item = el('li', { dataset: { pid: event.pid } },
      el('div', null, el('time', null, fmtTime(event.at)), pidLink(event.pid), ' ',
         el('span', { className: 'entry' }, event.entry || '')),
      el('div', { className: 'message' }, errorText(error)),
      trace ? el('details', { open: true }, el('summary', null, 'traceback'),
                 el('pre', { className: 'traceback' }, trace)) : null,
      rest && (typeof rest !== 'object' || Object.keys(rest).length)
        ? el('details', null, el('summary', null, 'details'), el('pre', null, JSON.stringify(rest, null, 2))) : null);
    const list = $('crashes');
    list.prepend(item);
    while (list.children.length > CRASHES_SHOWN) list.lastChild.remove();
    $('no-crashes').hidden = true;
  }

  function connect() {
    const url = TOKEN ? `api/events?token=${encodeURIComponent(TOKEN)}` : 'api/events';
    const source = new EventSource(url);
    const status = $('connection');
    source.addEventListener('open', () => {
      status.className = 'connection live';
      status.textContent = 'live';
      refreshAll();  // whatever happened while not connected
    });
    source.addEventListener('error', () => {
      const closed = source.readyState === EventSource.CLOSED;
      status.className = 'connection down';
      status.textContent = closed ? 'disconnected' : 'reconnecting';
      if (closed) {  // the server refused (e.g. 401): EventSource does not retry that by itself
        api('api/tree').catch(() => {});  // shows the reason in the banner
        setTimeout(connect, 5000);
      }
    });
    for (const kind of ['spawn', 'exit', 'restart', 'crash']) {
      source.addEventListener(kind, (message) => onEvent(JSON.parse(message.data)));
    }
    source.addEventListener('dropped', (message) => {
      onEvent({ kind: 'dropped', at: Date.now() / 1000, details: JSON.parse(message.data) });
      refreshAll();
    });
  }

  // -- mailbox sizes over time ----------------------------------------------------------------------------------
  const history = new Map();  // PID -> {entry, values: [mailbox length per sample], alive}

  async function sample() {
    let delay = SAMPLE_MIN_MS;
    if (!document.hidden) {
      const began = performance.now();
      try {
        const answer = await api('api/processes');
        delay = Math.max(SAMPLE_MIN_MS, (performance.now() - began) * SAMPLE_COST_SHARE);
        record(answer.processes);
        drawSparks();
      } catch (err) {
        $('sparklines').replaceChildren(el('p', { className: 'empty' }, `sampling failed: ${err.message}`));
      }
    }
    setTimeout(sample, delay);
  }

  function record(processes) {
    const now = new Map(processes.map((p) => [p.pid, p]));
    // the busiest now join the tracked ones; a tracked process keeps its history while it is among the busiest
    const busiest = processes.filter((p) => p.mailbox > 0).sort((a, b) => b.mailbox - a.mailbox)
      .slice(0, SPARKS_SHOWN * 2);
    for (const p of busiest) {
      if (!history.has(p.pid)) history.set(p.pid, { entry: p.entry, values: [], alive: true });
    }
    for (const [pid, track] of history) {
      const p = now.get(pid);
      track.alive = Boolean(p);
      track.values.push(p ? p.mailbox : 0);
      if (track.values.length > SPARK_SAMPLES) track.values.shift();
      if (!track.alive || Math.max(...track.values) === 0) history.delete(pid);
    }
    if (history.size > SPARKS_SHOWN * 4) {  // forget the quietest
      const ranked = [...history].sort((a, b) => rank(b[1]) - rank(a[1]));
      for (const [pid] of ranked.slice(SPARKS_SHOWN * 4)) history.delete(pid);
    }
  }

  const rank = (track) => track.values[track.values.length - 1] * 1e6 + Math.max(...track.values);

  function drawSparks() {
    const shown = [...history].sort((a, b) => rank(b[1]) - rank(a[1])).slice(0, SPARKS_SHOWN);
    if (!shown.length) {
      $('sparklines').replaceChildren(el('p', { className: 'empty' }, 'every mailbox is empty'));
      return;
    }
    $('sparklines').replaceChildren(...shown.map(([pid, track]) => {
      const max = Math.max(1, ...track.values);
      const current = track.values[track.values.length - 1];
      return el('div', { className: 'spark', dataset: { pid } },
        el('span', null, pidLink(pid), ' ', el('span', { className: 'entry' }, track.entry || '')),
        el('span', { className: 'count',
                     title: `now ${current}, at most ${max} in the last ${track.values.length} samples` },
           `${fmtNumber(current)} (max ${fmtNumber(max)})`),
        sparkline(track.values, max));
    }));
  }

  /** An inline SVG of ``values`` (oldest first, right-aligned: the newest sample is at the right edge). */
  function sparkline(values, max) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${SPARK_SAMPLES - 1} 100`);
    svg.setAttribute('preserveAspectRatio', 'none');
    const drawn = values.length === 1 ? [values[0], values[0]] : values;  // one sample: a short flat line
    const start = SPARK_SAMPLES - drawn.length;
    const points = drawn.map((v, i) => `${start + i},${(96 - (v / max) * 86).toFixed(1)}`);
    const area = document.createElementNS(ns, 'polygon');
    area.setAttribute('points', [`${start},100`, ...points, `${SPARK_SAMPLES - 1},100`].join(' '));
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(area, line);
    return svg;
  }

  // -- start ------------------------------------------------------------------------------------------------------
  function start() {
    $('page-first').addEventListener('click', () => goTo(0));
    $('page-prev').addEventListener('click', () => goTo(state.offset - state.limit));
    $('page-next').addEventListener('click', () => goTo(state.offset + state.limit));
    $('page-last').addEventListener('click', () => goTo(Infinity));
    $('page-size').addEventListener('change', (e) => {
      state.limit = Number(e.target.value);
      state.offset = Math.floor(state.offset / state.limit) * state.limit;
      loadPage();
    });
    $('host-filter').addEventListener('change', (e) => {
      state.host = e.target.value.trim();
      state.offset = 0;
      loadPage();
    });
    $('table-controls').addEventListener('submit', (e) => e.preventDefault());
    loadTree();
    loadPage();
    connect();
    sample();
  }

  start();
})();
