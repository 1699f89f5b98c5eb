import {localTime} from './dom.js'

// Charts on uPlot (bundled with morpho, loaded by index.html as the global `uPlot`). The only
// drawing done here by hand is what uPlot leaves to plugins: the phase band and the event
// markers, drawn in its hooks with its own coordinate conversions.

/** Okabe–Ito: told apart with the common colour-vision deficiencies; yellow left out (too light on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8C6D31']
export const CURVE = {train_loss: '#0072B2', val_loss: '#D55E00', val_acc: '#009E73'}
export const STATE_COLORS = {dormant: '#d4d4d4', training: '#E69F00', blending: '#56B4E9', active: '#009E73'}

/**
 * A colour of the page's scheme (light or dark), from the CSS custom property `name`: canvases
 * do not follow CSS, so they ask when they draw.
 */
export function ink(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#777'
}

function axis() {
  return {
    stroke: ink('--chart-text'),
    grid: {stroke: ink('--chart-grid'), width: 1},
    ticks: {stroke: ink('--chart-tick'), width: 1},
  }
}

export function chartsAvailable() {
  return typeof globalThis.uPlot === 'function'
}

/**
 * A line chart over epochs (or any whole-number x) that follows its container's width.
 *   series:  [{label, values, color, dash?, width?, stepped?}]
 *   markers: [{at, label?, color?, ink?, nudge?}]   vertical lines (germinations, the saved epoch),
 *            labelled at the top; `ink` names a colour property (--chart-saved) instead of a colour;
 *                                            nudge shifts a line by CSS pixels so equal epochs stay visible
 *   phase:   {at}                    first adaptation epoch: the warm-up before it is shaded
 */
export function lineChart(
  target,
  {x, series, yLabel, xLabel = 'epoch', height = 240, markers = [], phase, y, onLayout},
) {
  const uPlot = globalThis.uPlot
  const opts = {
    width: widthOf(target),
    height,
    // Half an epoch of room each side: epoch e owns [e - ½, e + ½], which the seed strips line up with.
    scales: {x: {time: false, range: (_u, lo, hi) => [lo - 0.5, hi + 0.5]}, y: y ?? {}},
    axes: [
      {...axis(), label: xLabel, incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]},
      {...axis(), label: yLabel, size: 56, values: (_u, splits) => splits.map((v) => trimNumber(v))},
    ],
    series: [
      {label: xLabel, value: (_u, v) => (v === null || v === undefined ? '–' : String(v))},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 2,
        dash: s.dash,
        spanGaps: false,
        points: {show: x.length <= 40, size: 5},
        paths: s.stepped ? uPlot.paths.stepped({align: 1}) : undefined,
        value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(4)),
      })),
    ],
    legend: {live: true},
    cursor: {drag: {x: false, y: false}},
    plugins: [markerPlugin(markers, phase)],
    hooks: onLayout ? {ready: [onLayout], setSize: [onLayout]} : {},
  }
  const chart = new uPlot(opts, [x, ...series.map((s) => s.values)], target)
  keyboardLegend(chart)
  return followWidth(target, chart)
}

/**
 * The served model's traffic over wall-clock time: requests/s and errors/s on the left axis,
 * p95 latency in milliseconds on the right.
 */
export function trafficChart(target, data, {height = 220} = {}) {
  const uPlot = globalThis.uPlot
  const chart = new uPlot(
    {
      width: widthOf(target),
      height,
      // At least a minute wide, so the first few polls do not stretch over the whole axis.
      // Times read as elsewhere on the page (2026-11-29 14:03:07, local time), not uPlot's US style.
      scales: {
        // From the data, not uPlot's lo/hi: with a single point it widens those by 86,400,000
        // (a day in milliseconds, on an axis in seconds), and the axis spanned years.
        x: {time: true, range: (u) => timeRange(u.data[0])},
        rps: {range: (_u, _lo, hi) => [0, Math.max(1, hi * 1.15)]},
        ms: {range: (_u, _lo, hi) => [0, Math.max(1, hi * 1.15)]},
      },
      axes: [
        {...axis(), values: (_u, splits) => timeTicks(splits)},
        {...axis(), scale: 'rps', label: 'requests / s', size: 56},
        {...axis(), scale: 'ms', label: 'p95 latency (ms)', side: 1, size: 60, grid: {show: false}},
      ],
      series: [
        {label: 'time', value: (_u, v) => (v === null || v === undefined ? '–' : localTime(new Date(v * 1000)))},
        {label: 'requests/s', scale: 'rps', stroke: PALETTE[0], width: 2, value: (_u, v) => fixed(v, 2)},
        {
          label: 'errors/s (5xx)',
          scale: 'rps',
          stroke: PALETTE[1],
          width: 2,
          dash: [6, 4],
          value: (_u, v) => fixed(v, 2),
        },
        {label: 'p95 latency ms', scale: 'ms', stroke: PALETTE[2], width: 2, value: (_u, v) => fixed(v, 1)},
      ],
      legend: {live: true},
    },
    data,
    target,
  )
  keyboardLegend(chart)
  return followWidth(target, chart)
}

function markerPlugin(markers, phase) {
  return {
    hooks: {
      drawClear: [
        (u) => {
          if (!phase) return
          const {ctx, bbox} = u
          const edge = u.valToPos(phase.at - 0.5, 'x', true)
          const left = Math.max(bbox.left, Math.min(edge, bbox.left + bbox.width))
          ctx.save()
          ctx.fillStyle = ink('--chart-band')
          ctx.fillRect(bbox.left, bbox.top, left - bbox.left, bbox.height)
          ctx.restore()
        },
      ],
      draw: [
        (u) => {
          const {ctx, bbox} = u
          const px = globalThis.uPlot.pxRatio
          ctx.save()
          ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`
          ctx.textBaseline = 'top'
          if (phase) {
            const edge = u.valToPos(phase.at - 0.5, 'x', true)
            if (edge > bbox.left && edge < bbox.left + bbox.width) {
              ctx.strokeStyle = ink('--chart-phase')
              ctx.lineWidth = 1.5 * px
              ctx.setLineDash([])
              line(ctx, edge, bbox.top, edge, bbox.top + bbox.height)
              ctx.fillStyle = ink('--chart-text')
              ctx.textAlign = 'right'
              ctx.fillText('warm-up', edge - 4 * px, bbox.top + 3 * px)
              ctx.textAlign = 'left'
              ctx.fillText('adaptation', edge + 4 * px, bbox.top + 3 * px)
            }
          }
          ctx.textAlign = 'left'
          const marker = ink('--chart-marker')
          markers.forEach((m, i) => {
            const at = u.valToPos(m.at, 'x', true) + (m.nudge ?? 0) * px
            if (at < bbox.left || at > bbox.left + bbox.width) return
            const colour = m.ink ? ink(m.ink) : (m.color ?? marker)
            ctx.strokeStyle = colour
            ctx.fillStyle = colour
            ctx.lineWidth = 1.5 * px
            ctx.setLineDash([4 * px, 3 * px])
            line(ctx, at, bbox.top + 16 * px, at, bbox.top + bbox.height)
            if (m.label) {
              const yText = bbox.top + (18 + (i % 3) * 13) * px
              const w = ctx.measureText(m.label).width
              // Labels near the right edge go left of their line so they stay inside the plot.
              const xText = at + 3 * px + w > bbox.left + bbox.width ? at - 3 * px - w : at + 3 * px
              ctx.fillText(m.label, xText, yText)
            }
          })
          ctx.restore()
        },
      ],
    },
  }
}

/** One straight stroke on a canvas, in the current style. */
export function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath()
  ctx.moveTo(x0, y0)
  ctx.lineTo(x1, y1)
  ctx.stroke()
}

function widthOf(el) {
  return Math.max(280, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 600))
}

/**
 * uPlot's legend shows or hides a series on a click; this makes each entry a toggle button for
 * the keyboard too (Tab to it, Enter or Space), announcing whether its series is shown.
 */
function keyboardLegend(chart) {
  const rows = chart.root.querySelectorAll('.u-legend .u-series')
  rows.forEach((row, i) => {
    if (i === 0) return // the x values, not a series
    const label = chart.series[i].label
    row.tabIndex = 0
    row.setAttribute('role', 'button')
    row.setAttribute('aria-label', `Show ${label}`)
    const sync = () => row.setAttribute('aria-pressed', String(chart.series[i].show !== false))
    sync()
    row.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return
      e.preventDefault()
      chart.setSeries(i, {show: chart.series[i].show === false})
      sync()
    })
    row.addEventListener('click', () => queueMicrotask(sync))
  })
}

/** Resizes the chart with its container; returns {chart, dispose}. */
function followWidth(target, chart) {
  let last = widthOf(target)
  const observer = new ResizeObserver(() => {
    const w = widthOf(target)
    if (Math.abs(w - last) < 2) return
    last = w
    chart.setSize({width: w, height: chart.height})
  })
  observer.observe(target)
  return {
    chart,
    dispose() {
      observer.disconnect()
      chart.destroy()
    },
  }
}

/** Tick labels: the time of day ("14:03:05"), with the date ("11-29 14:03") once they span days. */
function timeTicks(splits) {
  const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0
  return splits.map((v) => {
    const full = localTime(new Date(v * 1000))
    return span >= 86400 ? full.slice(5, 16) : full.slice(11)
  })
}

/** At least a minute wide, ending at the newest point. */
function timeRange(xs) {
  const hi = xs[xs.length - 1] ?? Date.now() / 1000
  return [Math.min(xs[0] ?? hi, hi - 60), hi]
}

function trimNumber(v) {
  if (v === null || v === undefined) return ''
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)))
}

function fixed(v, digits) {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits)
}
