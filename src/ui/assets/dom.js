// Small helpers shared by the views. Text always goes in as text nodes, never as HTML: run ids,
// tags and descriptions come from the store and must not be able to inject markup.

/**
 * h('a', {href: '#/runs', class: 'x'}, 'text', child) → element. Attributes whose value is
 * false, null or undefined are left out; `on*` keys add listeners; `dataset` sets data-*.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'text') el.textContent = String(value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(el, child)
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

/** A training parameter by its flag's name (`hiddenDim` → `hidden-dim`), as the CLI spells it. */
export function flagName(key) {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** A number with `digits` decimals, '–' when missing. */
export function num(value, digits = 4) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–'
}

export function int(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en-US') : '–'
}

export function percent(value, digits = 1) {
  return typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(digits)} %` : '–'
}

/** "1.3 s", "4 min 05 s", "2 h 03 min". */
export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–'
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}

/** "2026-11-29 14:03:07" in the browser's time zone: every time on the page reads this way. */
export function localTime(d) {
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** The local time of an ISO string, inside a <time> element. */
export function time(iso) {
  const d = new Date(iso)
  if (!iso || Number.isNaN(d.getTime())) return document.createTextNode('–')
  return h('time', {datetime: d.toISOString()}, localTime(d))
}

/** "3 min ago" */
export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000))
  if (!Number.isFinite(s)) return ''
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

export function stageBadge(stage) {
  return h('span', {class: `badge stage-${String(stage).toLowerCase()}`}, stage)
}

export function statusBadge(status) {
  return h('span', {class: `badge status-${String(status).toLowerCase()}`}, status)
}

export function runLink(id, text = id) {
  return h('a', {href: `#/runs/${encodeURIComponent(id)}`, class: 'mono'}, text)
}

/** Says `message` to screen readers once (the page's single polite live region). */
export function announce(message) {
  const region = document.getElementById('announcer')
  if (!region) return
  region.textContent = ''
  // A fresh text node after a tick makes repeated messages be read again.
  setTimeout(() => {
    region.textContent = message
  }, 50)
}

/** A section with a heading; returns [section, body]. */
export function section(title, id, ...intro) {
  const heading = h('h2', {id: `${id}-title`}, title)
  const body = h('div', {class: 'section-body'})
  return [h('section', {class: 'panel', 'aria-labelledby': `${id}-title`}, heading, ...intro, body), body]
}

export function errorBox(err) {
  return h(
    'div',
    {class: 'error', role: 'alert'},
    h('p', {}, h('strong', {}, 'Could not load: '), withCode(err?.message ?? String(err))),
    err?.hint ? h('p', {class: 'muted'}, withCode(err.hint)) : null,
  )
}

/** Text whose `quoted` parts (commands, ids, as messages and hints write them) become <code>. */
export function withCode(text) {
  return String(text)
    .split(/`([^`]+)`/)
    .map((part, i) => (i % 2 === 1 ? h('code', {}, part) : part))
}

/** A description list of [term, value] pairs, each pair in its own box so a grid can lay them out. */
export function pairs(items, cls) {
  return h(
    'dl',
    {class: cls},
    items.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  )
}
