import {api} from './api.js'
import {announce, clear, duration, h, num, runLink, stageBadge, statusBadge, time} from './dom.js'

// The runs table: sortable by any column (buttons in the headers, so keyboards sort too),
// filterable, and the starting point of a comparison.

const COLUMNS = [
  {key: 'id', label: 'Run', value: (r) => r.id, cell: (r) => runLink(r.id)},
  {key: 'problem', label: 'Problem', value: (r) => r.problem},
  {key: 'status', label: 'Status', value: (r) => r.status, cell: (r) => statusBadge(r.status)},
  {key: 'val_acc', label: 'val_acc', numeric: true, value: (r) => r.val_acc, cell: (r) => num(r.val_acc)},
  {key: 'test_acc', label: 'test_acc', numeric: true, value: (r) => r.test_acc, cell: (r) => num(r.test_acc)},
  {
    key: 'seeds_germinated',
    label: 'Seeds germinated',
    numeric: true,
    value: (r) => r.seeds_germinated,
    cell: (r) => (r.seeds_germinated === null ? '–' : `${r.seeds_germinated} / ${r.seeds_total ?? '–'}`),
  },
  {key: 'backend', label: 'Backend', value: (r) => r.backend ?? ''},
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
              h('a', {href: '#/registry'}, `${v.model} v${v.version}`),
              ' ',
              stageBadge(v.stage),
            ),
          ),
  },
]

// Kept while the page is open: coming back from a run keeps the order and the selection.
const state = {sort: {key: 'createdAt', dir: 'descending'}, selected: new Set(), filter: ''}

export async function runsView(root) {
  root.append(h('h1', {tabindex: '-1'}, 'Runs'), h('p', {class: 'loading'}, 'Loading runs…'))
  const data = await api.runs()
  root.querySelector('.loading')?.remove()
  const known = new Set(data.runs.map((r) => r.id))
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
          data.skipped.map((s) => h('li', {}, h('code', {}, s.id), `: ${s.error}`)),
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
  const toolbar = h('div', {class: 'toolbar'}, h('label', {for: 'run-filter'}, 'Filter runs'), filter, compare, count)
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
          COLUMNS.map((c) =>
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
                'aria-label': `Select run ${r.id} for comparison`,
                checked: state.selected.has(r.id),
                onchange: (event) => {
                  if (event.target.checked) state.selected.add(r.id)
                  else state.selected.delete(r.id)
                  updateSelection()
                },
              }),
            ),
            COLUMNS.map((c, i) =>
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
        : {key, dir: COLUMNS.find((c) => c.key === key)?.numeric || key === 'createdAt' ? 'descending' : 'ascending'}
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

function filtered(runs) {
  const words = state.filter.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return runs
  return runs.filter((r) => {
    const text = `${r.id} ${r.problem} ${r.status} ${r.backend ?? ''}`.toLowerCase()
    return words.every((w) => text.includes(w))
  })
}

function sorted(runs) {
  const column = COLUMNS.find((c) => c.key === state.sort.key) ?? COLUMNS[0]
  const sign = state.sort.dir === 'ascending' ? 1 : -1
  return [...runs].sort((a, b) => {
    const va = column.value(a)
    const vb = column.value(b)
    // Missing values go last whichever the direction.
    if (va === null || va === undefined) return vb === null || vb === undefined ? 0 : 1
    if (vb === null || vb === undefined) return -1
    if (va < vb) return -sign
    if (va > vb) return sign
    return a.id < b.id ? -1 : 1
  })
}

/** A no-break space keeps the arrow with the last word when a header wraps. */
function arrow(key) {
  if (state.sort.key !== key) return '\u00a0↕'
  return state.sort.dir === 'ascending' ? '\u00a0▲' : '\u00a0▼'
}

function labelOf(key) {
  return COLUMNS.find((c) => c.key === key)?.label ?? key
}
