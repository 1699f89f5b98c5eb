import {api} from './api.js'
import {chartsAvailable, lineChart, PALETTE} from './charts.js'
import {duration, flagName, h, num, runLink, section} from './dom.js'
import {figure} from './run.js'

// Two or more runs overlaid: one colour (and dash pattern) per run on every chart, their
// germinations as short marks in the run's colour, and the parameters that differ.

const DASHES = [[], [7, 4], [2, 3], [10, 3, 2, 3]]

export async function compareView(root, ids) {
  root.append(
    h('p', {class: 'crumbs'}, h('a', {href: '#/runs'}, '← All runs')),
    h('h1', {tabindex: '-1'}, `Compare ${ids.length} runs`),
  )
  if (ids.length < 2) {
    root.append(h('p', {}, 'Select two or more runs in the runs table to compare them.'))
    return undefined
  }
  const loading = h('p', {class: 'loading'}, 'Loading runs…')
  root.append(loading)
  const runs = await Promise.all(ids.map((id) => api.run(id)))
  loading.remove()

  const epochs = [...new Set(runs.flatMap((d) => d.metrics.map((m) => m.epoch)))].sort((a, b) => a - b)
  const colorOf = (i) => PALETTE[i % PALETTE.length]
  const valuesOf = (d, key) => {
    const byEpoch = new Map(d.metrics.map((m) => [m.epoch, m[key]]))
    return epochs.map((e) => (byEpoch.has(e) ? byEpoch.get(e) : null))
  }
  // Runs often germinate at the same epoch: each run's marks are nudged a little so none hides another.
  const markers = runs.flatMap((d, i) =>
    d.events
      .filter((e) => e.type === 'germination')
      .map((e) => ({at: e.epoch, color: colorOf(i), nudge: (i - (runs.length - 1) / 2) * 3})),
  )
  // The warm-up is shaded only when every run switched phase at the same epoch.
  const switches = new Set(runs.map((d) => d.metrics.find((m) => m.phase === 'adaptation')?.epoch ?? null))
  const phaseAt = switches.size === 1 ? [...switches][0] : null
  const phase = phaseAt !== null && phaseAt > epochs[0] ? {at: phaseAt} : undefined

  const [legendSection, legendBody] = section('Runs', 'compare-runs')
  legendBody.append(runsTable(runs, colorOf))
  root.append(legendSection)

  const [chartsSection, chartsBody] = section(
    'Curves',
    'compare-curves',
    h(
      'p',
      {class: 'muted'},
      'Each run keeps its colour and dash pattern in every chart; dashed vertical lines in a run’s colour: its germinations.',
      phase ? ` Shaded: warm-up (epochs ${epochs[0]}–${phase.at - 1}, the same for every run).` : '',
    ),
  )
  root.append(chartsSection)
  const charts = []
  const specs = [
    ['val_loss', 'Validation loss per epoch'],
    ['val_acc', 'Validation accuracy per epoch'],
    ['train_loss', 'Training loss per epoch'],
  ]
  const grid = h('div', {class: 'charts-2'})
  chartsBody.append(grid)
  for (const [key, title] of specs) {
    const box = h('div', {class: 'chart', id: `chart-compare-${key}`})
    const text = runs.map((d) => `${d.run.runId} ${num(d.metrics.at(-1)?.[key], 3)}`).join('; ')
    grid.append(figure(title, box, `${key} at the last epoch: ${text}.`))
    if (!chartsAvailable()) continue
    charts.push(
      lineChart(box, {
        x: epochs,
        yLabel: key,
        markers,
        phase,
        series: runs.map((d, i) => ({
          label: shortId(d.run.runId, runs),
          values: valuesOf(d, key),
          color: colorOf(i),
          dash: DASHES[i % DASHES.length],
        })),
      }),
    )
  }
  return () => {
    for (const c of charts) c.dispose()
  }
}

function runsTable(runs, colorOf) {
  const differing = differingParams(runs.map((d) => d.run.params ?? {}))
  return h(
    'div',
    {class: 'table-wrap'},
    h(
      'table',
      {class: 'data'},
      h(
        'caption',
        {},
        differing.length === 0
          ? 'Runs compared; their parameters are the same'
          : `Runs compared, with the ${differing.length === 1 ? 'parameter that differs' : `${differing.length} parameters that differ`}`,
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Run', 'Problem', 'val_acc', 'Seeds germinated', 'Backend', 'Time', ...differing.map(flagName)].map((t) =>
            h('th', {scope: 'col'}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        runs.map((d, i) => {
          const r = d.run
          const s = r.summary ?? {}
          const swatch = h('span', {class: 'swatch', 'aria-hidden': 'true'})
          swatch.style.background = colorOf(i)
          return h(
            'tr',
            {},
            h('th', {scope: 'row'}, swatch, ' ', runLink(r.runId)),
            h('td', {}, r.problem),
            h('td', {class: 'num'}, num(s.val_acc)),
            h(
              'td',
              {class: 'num'},
              s.seeds_germinated === undefined ? '–' : `${s.seeds_germinated} / ${s.seeds_total}`,
            ),
            h('td', {}, r.backend?.name ?? '–'),
            h('td', {class: 'num'}, duration(r.seconds)),
            differing.map((k) => h('td', {class: 'mono'}, format(r.params?.[k]))),
          )
        }),
      ),
    ),
  )
}

/** Parameters whose values differ between the runs; the problem has its own column. */
function differingParams(list) {
  const keys = [...new Set(list.flatMap((p) => Object.keys(p)))].filter((k) => k !== 'problem')
  return keys.filter((k) => new Set(list.map((p) => JSON.stringify(p[k]))).size > 1)
}

function format(v) {
  return v === undefined ? '–' : Array.isArray(v) ? v.join(', ') : String(v)
}

/** The shortest tail of the ids that still tells them apart, for chart legends. */
function shortId(id, runs) {
  const ids = runs.map((d) => d.run.runId)
  for (const n of [6, 13, 22]) {
    const tails = ids.map((x) => x.slice(-n))
    if (new Set(tails).size === ids.length && n < id.length) return `…${id.slice(-n)}`
  }
  return id
}
