import {api} from './api.js'
import {announce, clear, duration, h, num, runLink, stageBadge, statusBadge, time} from './dom.js'

// The runs table: sortable by any column (buttons in the headers, so keyboards sort too),
// filterable, and the starting point of a comparison.

const BEFORE = [
  {key: 'runId', label: 'Run', value: (r) => r.runId, cell: (r) => runLink(r.runId)},
  {key: 'problem', label: 'Problem', value: (r) => r.problem},
  {key: 'status', label: 'Status', value: (r) => r.status, cell: (r) => statusBadge(r.status)},
]
const AFTER = [
  {key: 'backend', label: 'Backend', value: (r) => r.backend?.name ?? ''},
  {key: 'seconds', label: 'Time', numeric: true, value: (r) => r.seconds, cell: (r) => duration(r.seconds)},
  {key: 'createdAt', label: 'Started', value: (r) => r.createdAt, cell: (r) => time(r.createdAt)},
  {
    key: 'versions',
    label: 'Registered',
    value: (r) => r.versions.length,
    cell: (r) =>
      r.versions.length === 0
        ? '–'
        : r.versions.map((v) =>
            h(
              'span',
              {class: 'registered'},
              h('a', {href: `#/registry?model=${encodeURIComponent(v.model)}`}, `${v.model} v${v.version}`),
              ' ',
              stageBadge(v.stage),
            ),
          ),
  },
]

/** Summary metrics that are counts: shown as whole numbers. */
const COUNTS = new Set([
  'epochs',
  'best_epoch',
  'selected_epoch',
  'final_epoch',
  'adaptation_epochs',
  'seeds_total',
  'seeds_germinated',
  'seeds_active',
  'parameters',
])

/** A column of one summary metric, by its own name. */
function metricColumn(name) {
  const value = (r) => {
    const v = r.summary?.[name]
    return typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  const cell =
    name === 'seeds_germinated'
      ? (r) => (value(r) === null ? '–' : `${value(r)} / ${r.summary?.seeds_total ?? '–'}`)
      : COUNTS.has(name)
        ? (r) => (value(r) === null ? '–' : String(value(r)))
        : (r) => num(value(r))
  return {key: `summary.${name}`, label: name, numeric: true, metric: name, value, cell}
}

/** Metric names any run's summary has, in a stable order: accuracy first, then the rest by name. */
function metricNames(runs) {
  const names = new Set()
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.summary ?? {})) if (typeof v === 'number') names.add(k)
  }
  return [...names].sort((a, b) => (a === 'val_acc' ? -1 : b === 'val_acc' ? 1 : a.localeCompare(b)))
}

/** Which metrics are better small: the server's rule (/api/info), the one `best` and `sweep` use. */
let rule = {suffixes: ['loss'], names: []}

function lowerIsBetter(name) {
  return rule.names.includes(name) || rule.suffixes.some((s) => name === s || name.endsWith(`_${s}`))
}

const columns = () => [...BEFORE, ...state.metrics.map(metricColumn), ...AFTER]

// Kept while the page is open: coming back from a run keeps the order, the selection and the
// metric columns chosen.
const state = {
  sort: {key: 'createdAt', dir: 'descending'},
  selected: new Set(),
  filter: '',
  metrics: ['val_acc', 'test_acc', 'seeds_germinated'],
}

export async function runsView(root) {
  root.append(h('h1', {tabindex: '-1'}, 'Runs'), h('p', {class: 'loading'}, 'Loading runs…'))
  const [data, info] = await Promise.all([api.runs(), api.info().catch(() => null)])
  if (info?.lowerIsBetter) rule = info.lowerIsBetter
  root.querySelector('.loading')?.remove()
  const known = new Set(data.runs.map((r) => r.runId))
  for (const id of state.selected) if (!known.has(id)) state.selected.delete(id)

  if (data.runs.length === 0) {
    root.append(h('p', {}, 'No runs in this store yet. Train one with ', h('code', {}, 'morpho train'), '.'))
  }
  if (data.skipped.length > 0) {
    root.append(
      h(
        'div',
        {class: 'warning', role: 'note'},
        h('p', {}, `${data.skipped.length} run folder(s) could not be read and are not listed:`),
        h(
          'ul',
          {},
          data.skipped.map((s) => h('li', {}, h('code', {}, s.runId), `: ${s.error}`)),
        ),
      ),
    )
  }
  if (data.runs.length === 0) return undefined

  const compare = h('a', {class: 'button', href: '#/compare', 'aria-disabled': 'true'}, 'Compare selected')
  const count = h('span', {class: 'muted', 'aria-live': 'polite'})
  const filter = h('input', {
    id: 'run-filter',
    type: 'search',
    value: state.filter,
    placeholder: 'id, problem, status, backend',
    autocomplete: 'off',
  })
  const chooser = metricChooser(metricNames(data.runs), () => render())
  const toolbar = h(
    'div',
    {class: 'toolbar'},
    h('label', {for: 'run-filter'}, 'Filter runs'),
    filter,
    compare,
    count,
    chooser,
  )
  const table = h('table', {class: 'data runs'})
  root.append(toolbar, h('div', {class: 'table-wrap'}, table))

  const updateSelection = () => {
    const ids = [...state.selected]
    const ready = ids.length >= 2
    compare.setAttribute('aria-disabled', String(!ready))
    compare.href = ready ? `#/compare?ids=${ids.map(encodeURIComponent).join(',')}` : '#/runs'
    compare.textContent = `Compare selected (${ids.length})`
    count.textContent = ready ? '' : 'Select two or more runs to overlay their curves.'
  }
  compare.addEventListener('click', (event) => {
    if (compare.getAttribute('aria-disabled') === 'true') event.preventDefault()
  })

  const render = () => {
    const rows = sorted(filtered(data.runs))
    clear(table)
    table.append(
      h(
        'caption',
        {},
        `${rows.length} of ${data.runs.length} runs, sorted by ${labelOf(state.sort.key)} (${state.sort.dir})`,
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {scope: 'col'}, h('span', {class: 'visually-hidden'}, 'Select')),
          columns().map((c) =>
            h(
              'th',
              {
                scope: 'col',
                'aria-sort': state.sort.key === c.key ? state.sort.dir : null,
                class: c.numeric ? 'num' : null,
              },
              h(
                'button',
                {type: 'button', class: 'sort', onclick: () => sortBy(c.key)},
                c.label,
                h('span', {class: 'arrow', 'aria-hidden': 'true'}, arrow(c.key)),
              ),
            ),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            h(
              'td',
              {},
              h('input', {
                type: 'checkbox',
                'aria-label': `Select run ${r.runId} for comparison`,
                checked: state.selected.has(r.runId),
                onchange: (event) => {
                  if (event.target.checked) state.selected.add(r.runId)
                  else state.selected.delete(r.runId)
                  updateSelection()
                },
              }),
            ),
            columns().map((c, i) =>
              h(
                i === 0 ? 'th' : 'td',
                {scope: i === 0 ? 'row' : null, class: c.numeric ? 'num' : null},
                c.cell ? c.cell(r) : c.value(r),
              ),
            ),
          ),
        ),
      ),
    )
  }
  const sortBy = (key) => {
    state.sort =
      state.sort.key === key
        ? {key, dir: state.sort.dir === 'ascending' ? 'descending' : 'ascending'}
        : {key, dir: firstDirection(columns().find((c) => c.key === key))}
    render()
    table.querySelector(`th[aria-sort] button`)?.focus()
    announce(`Sorted by ${labelOf(key)}, ${state.sort.dir}`)
  }
  filter.addEventListener('input', () => {
    state.filter = filter.value
    render()
  })
  render()
  updateSelection()
  return undefined
}

/** Best first: a loss ascending, other numbers and times descending, text A to Z. */
function firstDirection(column) {
  if (column?.metric !== undefined) return lowerIsBetter(column.metric) ? 'ascending' : 'descending'
  return column?.numeric || column?.key === 'createdAt' ? 'descending' : 'ascending'
}

/** Checkboxes choosing which summary metrics have a column; the table follows at once. */
function metricChooser(names, onChange) {
  const boxes = names.map((name) =>
    h(
      'label',
      {class: 'metric-choice'},
      h('input', {
        type: 'checkbox',
        value: name,
        checked: state.metrics.includes(name),
        onchange: (event) => {
          const on = event.target.checked
          state.metrics = on
            ? names.filter((n) => n === name || state.metrics.includes(n))
            : state.metrics.filter((n) => n !== name)
          if (!on && state.sort.key === `summary.${name}`) state.sort = {key: 'createdAt', dir: 'descending'}
          onChange()
          announce(`${on ? 'Showing' : 'Hiding'} the ${name} column`)
        },
      }),
      ` ${name}`,
    ),
  )
  return h(
    'details',
    {class: 'metric-columns'},
    h('summary', {}, 'Metric columns'),
    h('fieldset', {}, h('legend', {class: 'visually-hidden'}, 'Metrics shown as columns'), boxes),
  )
}

function filtered(runs) {
  const words = state.filter.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return runs
  return runs.filter((r) => {
    const text = `${r.runId} ${r.problem} ${r.status} ${r.backend?.name ?? ''}`.toLowerCase()
    return words.every((w) => text.includes(w))
  })
}

function sorted(runs) {
  const column = columns().find((c) => c.key === state.sort.key) ?? BEFORE[0]
  const sign = state.sort.dir === 'ascending' ? 1 : -1
  return [...runs].sort((a, b) => {
    const va = column.value(a)
    const vb = column.value(b)
    // Missing values go last whichever the direction.
    if (va === null || va === undefined) return vb === null || vb === undefined ? 0 : 1
    if (vb === null || vb === undefined) return -1
    if (va < vb) return -sign
    if (va > vb) return sign
    return a.runId < b.runId ? -1 : 1
  })
}

/** A no-break space keeps the arrow with the last word when a header wraps. */
function arrow(key) {
  if (state.sort.key !== key) return '\u00a0↕'
  return state.sort.dir === 'ascending' ? '\u00a0▲' : '\u00a0▼'
}

function labelOf(key) {
  return columns().find((c) => c.key === key)?.label ?? key
}
