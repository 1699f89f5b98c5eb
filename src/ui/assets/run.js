import {api} from './api.js'
import {boundaryFigure} from './boundary.js'
import {CURVE, chartsAvailable, lineChart, PALETTE, STATE_COLORS} from './charts.js'
import {clear, duration, errorBox, flagName, h, int, num, pairs, section, stageBadge, statusBadge, time} from './dom.js'

// One run: summary, training curves with germinations and the phase boundary, the seed
// timeline, the decision boundary of its model, events and parameters. A run still training
// is re-read every few seconds and its charts follow.

const POLL_MS = 3000

export async function runView(root, id) {
  // The heading first, so a run that cannot be loaded still says which one.
  const loading = h('p', {class: 'loading'}, 'Loading run…')
  root.append(
    h('p', {class: 'crumbs'}, h('a', {href: '#/runs'}, '← All runs')),
    h('h1', {tabindex: '-1', class: 'mono'}, id),
    loading,
  )
  let details = await api.run(id)
  loading.remove()
  const r = details.run
  const badges = h('p', {class: 'badges'})
  const summary = h('dl', {class: 'summary'})
  root.append(badges, summary)

  const [curves, curvesBody] = section('Training curves', 'curves')
  const [seeds, seedsBody] = section(
    'Seed timeline',
    'seeds',
    h(
      'p',
      {class: 'muted'},
      'Each seed’s state per epoch, and its blending weight alpha (0: not used, 1: fully active).',
    ),
  )
  const [boundary, boundaryBody] = section('Decision boundary', 'boundary')
  const [events, eventsBody] = section('Events', 'events')
  const [params, paramsBody] = section('Parameters', 'params')
  root.append(curves, seeds, boundary, events, params)

  const charts = []
  const disposeCharts = () => {
    for (const c of charts.splice(0)) c.dispose()
  }
  const fill = (d) => {
    disposeCharts()
    fillHeader(badges, summary, d.run)
    fillCurves(curvesBody, d, charts)
    fillSeeds(seedsBody, d, charts)
    fillEvents(eventsBody, d.events)
    fillParams(paramsBody, d.run)
  }
  fill(details)
  loadBoundary(boundaryBody, r)

  let timer
  if (r.status === 'running') {
    const poll = async () => {
      if (!root.isConnected) return
      try {
        const next = await api.run(id)
        if (!root.isConnected) return
        if (next.metrics.length !== details.metrics.length || next.run.status !== details.run.status) {
          details = next
          fill(details)
          if (next.run.status !== 'running') loadBoundary(boundaryBody, next.run)
        }
        if (next.run.status === 'running') timer = setTimeout(poll, POLL_MS)
      } catch {
        timer = setTimeout(poll, POLL_MS * 2)
      }
    }
    timer = setTimeout(poll, POLL_MS)
  }
  return () => {
    clearTimeout(timer)
    disposeCharts()
  }
}

function fillHeader(badges, summary, r) {
  const s = r.summary ?? {}
  clear(badges).append(
    statusBadge(r.status),
    ' ',
    h('span', {class: 'badge'}, r.problem),
    ' ',
    h('span', {class: 'badge'}, `backend ${r.backend?.name ?? '?'}`),
    ...(r.status === 'running' ? [h('span', {class: 'muted'}, 'still training: this page follows it')] : []),
  )
  showVersions(badges, r)
  const data = r.data
  // The saved model is the selected epoch's (runs from before selection saved the last one).
  const saved = s.selected_epoch ?? s.epochs
  const items = [
    ['val_acc', num(s.val_acc)],
    ['val_loss', num(s.val_loss)],
    ...(s.test_acc === undefined
      ? []
      : [
          ['test', `acc ${num(s.test_acc)}, NLL ${num(s.test_loss)}, ECE ${num(s.test_ece)} (${int(data?.test)} rows)`],
        ]),
    ['saved epoch', saved === undefined ? '–' : String(saved)],
    ...(s.final_epoch === undefined || s.final_epoch === saved
      ? []
      : [['last epoch', `${s.final_epoch}: val_acc ${num(s.final_val_acc)}, val_loss ${num(s.final_val_loss)}`]]),
    ['best val_acc', s.best_val_acc === undefined ? '–' : num(s.best_val_acc)],
    ['epochs', int(s.epochs)],
    ...(s.ended ? [['ended', s.ended]] : []),
    [
      'seeds',
      s.seeds_total === undefined
        ? '–'
        : `${s.seeds_germinated} of ${s.seeds_total} germinated, ${s.seeds_active} active`,
    ],
    ['parameters', int(s.parameters)],
    ['time', duration(r.seconds)],
    ['started', time(r.createdAt)],
    ['seed', String(r.seed)],
    [
      'data',
      data
        ? `${data.kind} ${data.problem}: ${data.samples} rows, ${data.features} features, ${data.classes} classes`
        : '–',
    ],
  ]
  if (r.error) items.push(['error', `${r.error.code}: ${r.error.message}`])
  summary.replaceChildren(...pairs(items).children)
}

function fillCurves(body, {metrics, events, run}, charts) {
  clear(body)
  if (metrics.length === 0) {
    body.append(h('p', {}, 'No epoch has finished yet.'))
    return
  }
  const x = metrics.map((m) => m.epoch)
  const germinations = events.filter((e) => e.type === 'germination')
  const saved = run.status === 'completed' ? run.summary?.selected_epoch : undefined
  const markers = [
    ...germinations.map((e) => ({at: e.epoch, label: `⊕ ${e.seed}`})),
    ...(saved === undefined ? [] : [{at: saved, label: '✓ saved', ink: '--chart-saved'}]),
  ]
  const phaseAt = metrics.find((m) => m.phase === 'adaptation')?.epoch
  const phase = phaseAt !== undefined && phaseAt > x[0] ? {at: phaseAt} : undefined
  const first = metrics[0]
  const last = metrics.at(-1)
  const best = metrics.reduce((a, b) => (b.val_loss < a.val_loss ? b : a))
  const phaseText =
    phaseAt === undefined
      ? 'All epochs were warm-up.'
      : `Warm-up ${phaseAt > x[0] ? `epochs ${x[0]}–${phaseAt - 1}` : 'none'}, adaptation from epoch ${phaseAt}.`
  const germText =
    germinations.length === 0
      ? 'No seed germinated.'
      : `Germinations: ${germinations.map((e) => `${e.seed} at epoch ${e.epoch}`).join(', ')}.`

  const lossBox = h('div', {class: 'chart', id: 'chart-loss'})
  const accBox = h('div', {class: 'chart', id: 'chart-acc'})
  body.append(
    h(
      'p',
      {class: 'muted'},
      phaseText,
      ' ',
      germText,
      saved === undefined ? '' : ` The saved model is epoch ${saved}'s.`,
      ' Shaded: warm-up. Dashed purple lines: germinations',
      saved === undefined ? '.' : '; the green one: the saved epoch.',
    ),
    h(
      'div',
      {class: 'charts-2'},
      figure(
        'Loss per epoch',
        lossBox,
        `train_loss ${num(first.train_loss, 3)} → ${num(last.train_loss, 3)}, val_loss ${num(first.val_loss, 3)} → ${num(last.val_loss, 3)} over ${metrics.length} epochs (lowest val_loss ${num(best.val_loss, 3)} at epoch ${best.epoch}).`,
      ),
      figure(
        'Validation accuracy per epoch',
        accBox,
        `val_acc ${num(first.val_acc, 3)} at epoch ${first.epoch}, ${num(last.val_acc, 3)} at epoch ${last.epoch}, best ${num(Math.max(...metrics.map((m) => m.val_acc)), 3)}.`,
      ),
    ),
    epochTable(metrics),
  )
  if (!chartsAvailable()) {
    body.prepend(h('p', {class: 'warning'}, 'The charting library did not load; the table below has every number.'))
    return
  }
  charts.push(
    lineChart(lossBox, {
      x,
      yLabel: 'loss',
      markers,
      phase,
      series: [
        {label: 'train_loss', values: metrics.map((m) => m.train_loss), color: CURVE.train_loss},
        {label: 'val_loss', values: metrics.map((m) => m.val_loss), color: CURVE.val_loss, dash: [7, 4]},
      ],
    }),
    lineChart(accBox, {
      x,
      yLabel: 'val_acc',
      markers,
      phase,
      y: {range: (_u, lo, hi) => [Math.max(0, Math.floor(lo * 10) / 10), Math.min(1, Math.ceil(hi * 10) / 10 || 1)]},
      series: [{label: 'val_acc', values: metrics.map((m) => m.val_acc), color: CURVE.val_acc}],
    }),
  )
}

function fillSeeds(body, {metrics}, charts) {
  clear(body)
  const ids = metrics[0]?.seedStates?.map((s) => s.id) ?? []
  if (ids.length === 0) {
    body.append(h('p', {}, 'This run has no seed states recorded.'))
    return
  }
  const x = metrics.map((m) => m.epoch)
  const stateOf = (m, id) => m.seedStates.find((s) => s.id === id)
  const grown = ids.filter((id) => metrics.some((m) => stateOf(m, id)?.state !== 'dormant'))

  const strips = h('div', {class: 'strips', 'aria-hidden': 'true'})
  const texts = h('ul', {class: 'seed-text'})
  for (const id of ids) {
    const segments = runsOf(metrics.map((m) => ({epoch: m.epoch, state: stateOf(m, id)?.state ?? 'dormant'})))
    const lastAlpha = stateOf(metrics.at(-1), id)?.alpha ?? 0
    const bar = h('div', {class: 'strip-bar'})
    for (const seg of segments) {
      const cell = h('span', {
        class: `seg seg-${seg.state}`,
        title: `${id}: ${seg.state}, epochs ${seg.from}–${seg.to}`,
      })
      cell.style.flexGrow = String(seg.to - seg.from + 1)
      cell.style.background = STATE_COLORS[seg.state] ?? '#999'
      bar.append(cell)
    }
    strips.append(h('div', {class: 'strip'}, h('span', {class: 'strip-label mono'}, id), bar))
    texts.append(
      h(
        'li',
        {},
        h('span', {class: 'mono'}, id),
        ': ',
        segments
          .map((s) => `${s.state} ${s.from === s.to ? `epoch ${s.from}` : `epochs ${s.from}–${s.to}`}`)
          .join(', '),
        `; alpha ${lastAlpha.toFixed(2)} at the end.`,
      ),
    )
  }
  const legend = h(
    'ul',
    {class: 'legend'},
    Object.entries(STATE_COLORS).map(([state, color]) => {
      const sw = h('span', {class: 'swatch'})
      sw.style.background = color
      return h('li', {}, sw, state)
    }),
  )

  const alphaBox = h('div', {class: 'chart', id: 'chart-alpha'})
  if (grown.length > 0 && chartsAvailable()) {
    body.append(figure('Alpha per seed', alphaBox, `${grown.length} of ${ids.length} seeds left the dormant state.`))
  } else {
    body.append(h('p', {}, `All ${ids.length} seeds stayed dormant.`))
  }
  body.append(
    h('div', {class: 'strips-wrap'}, h('p', {class: 'strip-title'}, 'State per epoch'), strips, legend),
    texts,
  )

  if (grown.length > 0 && chartsAvailable()) {
    charts.push(
      lineChart(alphaBox, {
        x,
        yLabel: 'alpha',
        height: 200,
        y: {range: [0, 1.05]},
        series: grown.map((id, i) => ({
          label: id,
          values: metrics.map((m) => stateOf(m, id)?.alpha ?? null),
          color: PALETTE[i % PALETTE.length],
          stepped: true,
        })),
        // Line the strips up with the chart's plot area, so an epoch sits under the same x.
        onLayout: (u) => {
          const px = globalThis.uPlot.pxRatio
          strips.style.setProperty('--plot-left', `${u.bbox.left / px}px`)
          strips.style.setProperty('--plot-width', `${u.bbox.width / px}px`)
        },
      }),
    )
  }
}

/** [{state, from, to}] runs of equal state over the epochs. */
function runsOf(points) {
  const out = []
  for (const p of points) {
    const last = out.at(-1)
    if (last && last.state === p.state) last.to = p.epoch
    else out.push({state: p.state, from: p.epoch, to: p.epoch})
  }
  return out
}

/** Registered versions made from this run, linked to their model in the registry view. */
function showVersions(badges, run) {
  if (run.versions.length === 0) return
  badges.append(
    h(
      'span',
      {class: 'registered'},
      ' registered as ',
      run.versions.map((v, i) => [
        i > 0 ? ', ' : '',
        h('a', {href: `#/registry?model=${encodeURIComponent(v.model)}`}, `${v.model} v${v.version}`),
        ' ',
        stageBadge(v.stage),
      ]),
    ),
  )
}

async function loadBoundary(body, record) {
  clear(body).append(h('p', {class: 'loading'}, 'Computing the decision boundary…'))
  if (record.status !== 'completed' || !record.model) {
    clear(body).append(h('p', {}, 'The run has no saved model (yet).'))
    return
  }
  try {
    const view = await api.runBoundary(record.runId)
    clear(body).append(
      boundaryFigure(view, {
        caption:
          'The run’s model over the first two features; background: predicted class, fainter where unsure; points: validation rows coloured by their true class.',
      }).figure,
    )
  } catch (err) {
    clear(body).append(err.status === 404 ? h('p', {}, err.message) : errorBox(err))
  }
}

function fillEvents(body, events) {
  clear(body)
  const shown = events.filter((e) => e.type !== 'phase' || e.from !== 'init')
  if (shown.length === 0) {
    body.append(h('p', {}, 'No events.'))
    return
  }
  body.append(
    h(
      'div',
      {class: 'table-wrap'},
      h(
        'table',
        {class: 'data'},
        h('caption', {}, `${shown.length} events`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Epoch', 'Event', 'Detail'].map((t) => h('th', {scope: 'col'}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          shown.map((e) =>
            h(
              'tr',
              {},
              h('td', {class: 'num'}, String(e.epoch)),
              h('td', {}, e.type.replace('_', ' ')),
              h('td', {}, describe(e)),
            ),
          ),
        ),
      ),
    ),
  )
}

function describe(e) {
  switch (e.type) {
    case 'phase':
      return `${e.from} → ${e.to}`
    case 'germination':
      return `${e.seed} germinated (plateau ${e.plateau}, val_acc ${num(e.val_acc)}, activation variance ${num(e.health)})`
    case 'seed_state':
      return `${e.seed}: ${e.from} → ${e.to}`
    case 'drift_warning':
      return `${e.seed}: drift ${num(e.drift)}`
    case 'phase_skipped':
    case 'phase_ended':
      return e.reason
    case 'early_stop':
      return `no lower val_loss for ${e.patience} epochs (best at epoch ${e.best_epoch})`
    case 'status':
      return `${e.status}${e.message ? `: ${e.message}` : ''}`
    default:
      return JSON.stringify(e)
  }
}

function fillParams(body, r) {
  const entries = Object.entries(r.params ?? {}).map(([k, v]) => [
    flagName(k),
    Array.isArray(v) ? v.join(', ') : String(v),
  ])
  clear(body).append(pairs(entries, 'params mono'))
}

function epochTable(metrics) {
  return h(
    'details',
    {class: 'epochs'},
    h('summary', {}, `Every epoch as a table (${metrics.length} rows)`),
    h(
      'div',
      {class: 'table-wrap'},
      h(
        'table',
        {class: 'data compact'},
        h('caption', {}, 'Metrics per epoch'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Epoch', 'Phase', 'train_loss', 'val_loss', 'val_acc', 'Seeds d/t/b/a'].map((t) =>
              h('th', {scope: 'col'}, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          metrics.map((m) =>
            h(
              'tr',
              {},
              h('th', {scope: 'row', class: 'num'}, String(m.epoch)),
              h('td', {}, m.phase === 'warm_up' ? 'warm-up' : 'adaptation'),
              h('td', {class: 'num'}, num(m.train_loss)),
              h('td', {class: 'num'}, num(m.val_loss)),
              h('td', {class: 'num'}, num(m.val_acc)),
              h('td', {class: 'num'}, `${m.seeds.dormant}/${m.seeds.training}/${m.seeds.blending}/${m.seeds.active}`),
            ),
          ),
        ),
      ),
    ),
  )
}

/** A chart with its title and a one-line text alternative the canvas points to. */
export function figure(title, box, text) {
  const id = `${box.id}-desc`
  box.setAttribute('role', 'group')
  box.setAttribute('aria-label', title)
  box.setAttribute('aria-describedby', id)
  return h(
    'figure',
    {class: 'chart-figure'},
    h('figcaption', {}, h('strong', {}, title)),
    box,
    h('p', {id, class: 'chart-summary'}, text),
  )
}
