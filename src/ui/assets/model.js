import {api} from './api.js'
import {boundaryFigure} from './boundary.js'
import {chartsAvailable, trafficChart} from './charts.js'
import {ago, announce, clear, errorBox, h, num, pairs, percent, runLink, section, stageBadge, time} from './dom.js'
import {figure} from './run.js'

// The model this process serves: what it is, its live traffic (from the server's own metrics,
// turned into rates between polls), a prediction form, and its decision boundary.

const POLL_MS = 3000
/** Five minutes of polls. */
const KEEP = 100
/** Tiles summarise the last half minute. */
const TILE_WINDOW_MS = 30_000

export async function modelView(root) {
  root.append(h('h1', {tabindex: '-1'}, 'Served model'), h('p', {class: 'loading'}, 'Loading…'))
  let [served, info] = await Promise.all([api.served(), api.info()])
  root.querySelector('.loading')?.remove()
  if (!served && info.mode === 'ui') {
    root.append(
      h(
        'p',
        {},
        'No model is served by this process: ',
        h('code', {}, 'morpho ui'),
        ' browses the store only. Start ',
        h('code', {}, 'morpho serve'),
        ' to see a live model here, or look at the ',
        h('a', {href: '#/registry'}, 'registry'),
        '.',
      ),
    )
    return undefined
  }
  if (!served) {
    // `morpho serve` waiting for a version to load (none in Production yet, or a failed load):
    // look again every few seconds and show the model once it is there.
    const waiting = h(
      'p',
      {},
      'This server has no model loaded yet; this page shows it as soon as one is. See the ',
      h('a', {href: '#/registry'}, 'registry'),
      '.',
    )
    root.append(waiting)
    let timer
    let rest
    const retry = async () => {
      if (!root.isConnected) return
      served = await api.served().catch(() => null)
      if (!root.isConnected) return
      if (!served) {
        timer = setTimeout(retry, POLL_MS)
        return
      }
      root.replaceChildren()
      rest = await modelView(root)
      announce(`Now serving ${served.name} v${served.version}`)
    }
    timer = setTimeout(retry, POLL_MS)
    return () => {
      clearTimeout(timer)
      rest?.()
    }
  }

  const summary = h('dl', {class: 'summary'})
  const [traffic, trafficBody] = section(
    'Live traffic',
    'traffic',
    h(
      'p',
      {class: 'muted'},
      `From this server's own metrics, every ${POLL_MS / 1000} s; the page's own requests and health checks are not counted.`,
    ),
  )
  const [predict, predictBody] = section('Try a prediction', 'predict')
  const [boundary, boundaryBody] = section('Decision boundary', 'served-boundary')
  root.append(summary, traffic, predict, boundary)

  const tiles = h('div', {class: 'tiles'})
  const chartBox = h('div', {class: 'chart', id: 'chart-traffic'})
  trafficBody.append(
    tiles,
    figure(
      'Requests and latency over time',
      chartBox,
      'Requests per second, 5xx errors per second and p95 latency, per poll.',
    ),
  )
  const snapshots = []
  let chart
  let form
  let timer

  const showServed = () => {
    summary.replaceChildren(
      ...pairs([
        ['model', served.name],
        ['version', `v${served.version}`],
        ['stage', stageBadge(served.stage)],
        ['loaded since', [time(served.loadedAt), ` (${ago(served.loadedAt)})`]],
        ['run', served.runId ? runLink(served.runId) : '–'],
        [
          'input',
          served.inputDim === null ? '–' : `${served.inputDim} features → classes ${served.classes?.join(', ') ?? '?'}`,
        ],
      ]).children,
    )
    form = predictForm(predictBody, served)
    loadBoundary(boundaryBody, () => form)
  }
  showServed()

  const poll = async () => {
    if (!root.isConnected) return
    try {
      const [snapshot, now] = await Promise.all([api.traffic(), api.served()])
      if (!root.isConnected) return
      if (now && (now.version !== served.version || now.name !== served.name || now.loadedAt !== served.loadedAt)) {
        served = now
        showServed()
        announce(`Now serving ${served.name} v${served.version}`)
      }
      if (snapshot) {
        snapshots.push(snapshot)
        if (snapshots.length > KEEP) snapshots.shift()
        chart = drawTraffic(tiles, chartBox, snapshots, chart)
      } else {
        clear(tiles).append(h('p', {}, 'This server does not expose its metrics to the page.'))
      }
    } catch (err) {
      clear(tiles).append(errorBox(err))
    }
    if (root.isConnected) timer = setTimeout(poll, POLL_MS)
  }
  await poll()
  return () => {
    clearTimeout(timer)
    chart?.dispose()
  }
}

function drawTraffic(tiles, box, snapshots, chart) {
  const points = []
  for (let i = 1; i < snapshots.length; i++) points.push(rates(snapshots[i - 1], snapshots[i]))
  const last = snapshots.at(-1)
  const from = [...snapshots].reverse().find((s) => last.time - s.time >= TILE_WINDOW_MS) ?? snapshots[0]
  const window = from === last ? null : rates(from, last)
  const tile = (label, value, note) =>
    h(
      'div',
      {class: 'tile'},
      h('p', {class: 'tile-label'}, label),
      h('p', {class: 'tile-value'}, value),
      note ? h('p', {class: 'tile-note muted'}, note) : null,
    )
  const seconds = window ? Math.round(window.seconds) : 0
  clear(tiles).append(
    tile('Requests / s', window ? num(window.rps, 2) : '…', window ? `last ${seconds} s` : 'measuring'),
    tile(
      'Error rate (5xx)',
      window ? (window.requests ? percent(window.errors / window.requests) : '0 %') : '…',
      window ? `${window.errors} of ${window.requests}` : null,
    ),
    tile(
      'p95 latency',
      window?.p95 !== null && window?.p95 !== undefined ? `${num(window.p95 * 1000, 1)} ms` : '–',
      window ? `last ${seconds} s` : null,
    ),
    tile(
      'Mean latency',
      window?.mean !== null && window?.mean !== undefined ? `${num(window.mean * 1000, 2)} ms` : '–',
      null,
    ),
    tile(
      'Requests since start',
      String(Math.round(last.requests)),
      `${Math.round(last.errors)} errors, ${Math.round(last.rejected)} refused (4xx)`,
    ),
  )
  if (!chartsAvailable()) return chart
  if (points.length === 0) {
    // A rate needs two polls; an empty time axis would start in 1970.
    clear(box).append(h('p', {class: 'muted'}, `The chart starts with the second poll, ${POLL_MS / 1000} s from now.`))
    return chart
  }
  const data = [
    points.map((p) => p.time / 1000),
    points.map((p) => p.rps),
    points.map((p) => p.eps),
    points.map((p) => (p.p95 === null ? null : p.p95 * 1000)),
  ]
  if (chart) {
    chart.chart.setData(data)
    return chart
  }
  clear(box)
  return trafficChart(box, data)
}

/** Rates between two snapshots, as Prometheus' rate() and histogram_quantile() would give them. */
function rates(a, b) {
  const seconds = Math.max(0.001, (b.time - a.time) / 1000)
  // A smaller count means the server restarted: count from zero.
  const delta = (x, y) => (y >= x ? y - x : y)
  const requests = delta(a.requests, b.requests)
  const errors = delta(a.errors, b.errors)
  const count = delta(a.latency.count, b.latency.count)
  const sum = delta(a.latency.sum, b.latency.sum)
  const before = new Map(a.latency.buckets.map((x) => [x.le, x.count]))
  const buckets = b.latency.buckets.map((x) => ({le: x.le, count: delta(before.get(x.le) ?? 0, x.count)}))
  return {
    time: b.time,
    seconds,
    requests,
    errors,
    rps: requests / seconds,
    eps: errors / seconds,
    mean: count > 0 ? sum / count : null,
    p95: count > 0 ? quantile(0.95, buckets, count) : null,
  }
}

function quantile(q, buckets, total) {
  const rank = q * total
  let lower = 0
  let below = 0
  for (const {le, count} of buckets) {
    if (count >= rank) {
      if (le === null || !Number.isFinite(le)) return lower
      const inBucket = count - below
      return inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le
    }
    lower = Number.isFinite(le) ? le : lower
    below = count
  }
  return lower
}

function predictForm(body, served) {
  clear(body)
  const n = served.inputDim
  if (!n) {
    body.append(h('p', {}, 'The served model’s input size is unknown; use POST /predict directly.'))
    return null
  }
  const inputs = Array.from({length: n}, (_, i) =>
    h('input', {
      id: `feature-${i}`,
      name: `feature-${i}`,
      type: 'number',
      step: 'any',
      required: true,
      inputmode: 'decimal',
      value: served.featureMeans ? String(Number(served.featureMeans[i].toFixed(4))) : '0',
    }),
  )
  const result = h('div', {id: 'predict-result', class: 'result', 'aria-live': 'polite', 'aria-atomic': 'true'})
  const button = h('button', {type: 'submit'}, 'Predict')
  const form = h(
    'form',
    {class: 'predict', 'aria-describedby': 'predict-help'},
    h(
      'p',
      {id: 'predict-help', class: 'muted'},
      `Raw feature values (the model applies its own scaling); pre-filled with the training mean.${n >= 2 ? ' Clicking the decision boundary fills features 1 and 2.' : ''}`,
    ),
    h(
      'div',
      {class: 'fields'},
      inputs.map((input, i) =>
        h('div', {class: 'field'}, h('label', {for: input.id}, served.featureNames?.[i] ?? `Feature ${i + 1}`), input),
      ),
    ),
    button,
    result,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const row = inputs.map((input) => Number(input.value))
    if (row.some((v) => !Number.isFinite(v))) {
      clear(result).append(h('p', {class: 'error'}, 'Every feature needs a number.'))
      return
    }
    button.disabled = true
    clear(result).append(h('p', {}, 'Asking the model…'))
    try {
      const answer = await api.predict([row])
      const probs = answer.probabilities?.[0] ?? []
      const predicted = answer.predictions?.[0]
      clear(result).append(
        h('p', {class: 'answer'}, 'Predicted class ', h('strong', {id: 'predicted-class'}, String(predicted))),
        h(
          'table',
          {class: 'data compact probs'},
          h(
            'caption',
            {},
            `Probabilities (model v${answer.model_version ?? served.version}, ${num(answer.inference_time_ms, 2)} ms)`,
          ),
          h(
            'thead',
            {},
            h('tr', {}, h('th', {scope: 'col'}, 'Class'), h('th', {scope: 'col', class: 'num'}, 'Probability')),
          ),
          h(
            'tbody',
            {},
            probs.map((p, i) =>
              h(
                'tr',
                {},
                h('th', {scope: 'row'}, String(served.classes?.[i] ?? i)),
                h('td', {class: 'num', dataset: {prob: String(p)}}, num(p)),
              ),
            ),
          ),
        ),
      )
    } catch (err) {
      clear(result).append(errorBox(err))
    } finally {
      button.disabled = false
    }
  })
  body.append(form)
  return {
    form,
    set(values) {
      values.forEach((v, i) => {
        if (inputs[i]) inputs[i].value = String(Number(v.toFixed(4)))
      })
      form.requestSubmit()
    },
  }
}

async function loadBoundary(body, currentForm) {
  clear(body).append(h('p', {class: 'loading'}, 'Computing the decision boundary…'))
  try {
    const view = await api.servedBoundary()
    const drawn = boundaryFigure(view, {
      caption:
        'The served model over the first two features; background: predicted class, fainter where unsure; points: its run’s validation rows by true class. Click to predict at a point.',
    })
    drawn.canvas.addEventListener('click', (event) => {
      const at = drawn.toData(event.clientX, event.clientY)
      if (at) currentForm()?.set(at)
    })
    clear(body).append(drawn.figure)
  } catch (err) {
    clear(body).append(err.status === 404 ? h('p', {}, err.message) : errorBox(err))
  }
}
