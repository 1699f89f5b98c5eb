import {ink, line, PALETTE} from './charts.js'
import {h, percent} from './dom.js'

// The decision boundary is a heat map of class predictions over a grid (one canvas image,
// scaled up smoothly) with the validation points on top; not a chart, so no chart library.

const MARGIN = {left: 52, right: 12, top: 10, bottom: 40}

/**
 * Draws `view` (GET /api/runs/{id}/boundary or /api/served/boundary) into a new figure and
 * returns {figure, toData(clientX, clientY)}: the second maps a click to feature values.
 */
export function boundaryFigure(view, {caption} = {}) {
  const size = 440
  const canvas = h('canvas', {
    class: 'boundary',
    role: 'img',
    'aria-label': describe(view),
  })
  const ratio = window.devicePixelRatio || 1
  canvas.width = Math.round(size * ratio)
  canvas.height = Math.round(size * ratio)
  canvas.style.width = `${size}px`
  canvas.style.height = `${size}px`
  const ctx = canvas.getContext('2d')
  ctx.scale(ratio, ratio)
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: size - MARGIN.left - MARGIN.right,
    h: size - MARGIN.top - MARGIN.bottom,
  }
  const sx = (v) => plot.x + ((v - view.x.min) / (view.x.max - view.x.min)) * plot.w
  const sy = (v) => plot.y + plot.h - ((v - view.y.min) / (view.y.max - view.y.min)) * plot.h

  ctx.fillStyle = ink('--plot-bg')
  ctx.fillRect(0, 0, size, size)
  ctx.drawImage(heatmap(view), plot.x, plot.y, plot.w, plot.h)
  ctx.strokeStyle = ink('--plot-frame')
  ctx.lineWidth = 1
  ctx.strokeRect(plot.x + 0.5, plot.y + 0.5, plot.w - 1, plot.h - 1)
  axes(ctx, plot, view, sx, sy)

  if (view.points) {
    const {x, y, cls, pred} = view.points
    for (let i = 0; i < x.length; i++) {
      const px = sx(x[i])
      const py = sy(y[i])
      const color = PALETTE[cls[i] % PALETTE.length]
      if (pred[i] === cls[i]) {
        ctx.beginPath()
        ctx.arc(px, py, 3.5, 0, Math.PI * 2)
        ctx.fillStyle = color
        ctx.fill()
        ctx.strokeStyle = '#fff'
        ctx.lineWidth = 1
        ctx.stroke()
      } else {
        // A wrong prediction is a cross in the colour of the true class, outlined to stand out.
        for (const [w, c] of [
          [4, '#fff'],
          [2, color],
        ]) {
          ctx.strokeStyle = c
          ctx.lineWidth = w
          ctx.beginPath()
          ctx.moveTo(px - 4, py - 4)
          ctx.lineTo(px + 4, py + 4)
          ctx.moveTo(px + 4, py - 4)
          ctx.lineTo(px - 4, py + 4)
          ctx.stroke()
        }
      }
    }
  }

  const legend = h(
    'ul',
    {class: 'legend'},
    view.classes.map((label, c) =>
      h('li', {}, h('span', {class: 'swatch', dataset: {color: PALETTE[c % PALETTE.length]}}), `class ${label}`),
    ),
    view.points ? h('li', {}, h('span', {class: 'cross', 'aria-hidden': 'true'}, '×'), 'predicted wrong') : null,
  )
  for (const swatch of legend.querySelectorAll('.swatch')) swatch.style.background = swatch.dataset.color

  const notes = []
  if (view.features > 2) {
    const values = view.fixed.map((v) => v.toFixed(3)).join(', ')
    // By name when there are a few; a long list reads better as a range.
    const held = view.features <= 6 ? view.featureNames?.slice(2) : undefined
    notes.push(
      held
        ? `${held.join(', ')} ${held.length === 1 ? 'is' : 'are'} held at ${held.length === 1 ? 'its training mean' : 'their training means'} (${values}).`
        : view.features === 3
          ? `Feature 3 is held at its training mean (${values}).`
          : `Features 3–${view.features} are held at their training means (${values}).`,
    )
  }
  if (view.points) {
    notes.push(`${view.points.x.length} validation points; ${percent(view.accuracy)} predicted right.`)
  } else if (view.note) {
    notes.push(`No validation points: ${view.note}.`)
  }
  const figure = h(
    'figure',
    {class: 'boundary-figure'},
    canvas,
    h(
      'figcaption',
      {},
      caption ? h('p', {}, caption) : null,
      legend,
      notes.map((n) => h('p', {class: 'muted'}, n)),
    ),
  )
  return {
    figure,
    canvas,
    toData(clientX, clientY) {
      const rect = canvas.getBoundingClientRect()
      const cx = ((clientX - rect.left) / rect.width) * size
      const cy = ((clientY - rect.top) / rect.height) * size
      if (cx < plot.x || cx > plot.x + plot.w || cy < plot.y || cy > plot.y + plot.h) return null
      return [
        view.x.min + ((cx - plot.x) / plot.w) * (view.x.max - view.x.min),
        view.y.min + ((plot.y + plot.h - cy) / plot.h) * (view.y.max - view.y.min),
      ]
    },
  }
}

/** One pixel per grid cell: the class colour, faded into the plot's background by how unsure the model is. */
function heatmap(view) {
  const {nx, ny, cls, p} = view.grid
  const k = view.classes.length
  const img = new ImageData(nx, ny)
  const rgb = PALETTE.map(hexToRgb)
  const [br, bg, bb] = hexToRgb(ink('--plot-bg'))
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const cell = j * nx + i
      const [r, g, b] = rgb[cls[cell] % rgb.length]
      const sure = Math.max(0, Math.min(1, (p[cell] - 1 / k) / (1 - 1 / k)))
      const a = 0.12 + 0.33 * sure
      const o = ((ny - 1 - j) * nx + i) * 4
      img.data[o] = Math.round(br + (r - br) * a)
      img.data[o + 1] = Math.round(bg + (g - bg) * a)
      img.data[o + 2] = Math.round(bb + (b - bb) * a)
      img.data[o + 3] = 255
    }
  }
  const small = document.createElement('canvas')
  small.width = nx
  small.height = ny
  small.getContext('2d').putImageData(img, 0, 0)
  return small
}

function axes(ctx, plot, view, sx, sy) {
  ctx.fillStyle = ink('--chart-text')
  ctx.strokeStyle = ink('--plot-frame')
  ctx.font = '11px system-ui, sans-serif'
  ctx.textAlign = 'center'
  ctx.textBaseline = 'top'
  for (const v of ticks(view.x.min, view.x.max)) {
    const x = sx(v)
    line(ctx, x, plot.y + plot.h, x, plot.y + plot.h + 4)
    ctx.fillText(label(v), x, plot.y + plot.h + 6)
  }
  const [xName, yName] = axisNames(view)
  ctx.fillText(clipText(ctx, xName, plot.w), plot.x + plot.w / 2, plot.y + plot.h + 22)
  ctx.textAlign = 'right'
  ctx.textBaseline = 'middle'
  for (const v of ticks(view.y.min, view.y.max)) {
    const y = sy(v)
    line(ctx, plot.x - 4, y, plot.x, y)
    ctx.fillText(label(v), plot.x - 6, y)
  }
  ctx.save()
  ctx.translate(12, plot.y + plot.h / 2)
  ctx.rotate(-Math.PI / 2)
  ctx.textAlign = 'center'
  ctx.fillText(clipText(ctx, yName, plot.h), 0, 0)
  ctx.restore()
}

/** The axes' names: the model's first two feature names (canvas text, never markup). */
function axisNames(view) {
  return [view.featureNames?.[0] ?? 'feature 1', view.featureNames?.[1] ?? 'feature 2']
}

/** The text cut to `width` pixels, "…" marking the cut. */
function clipText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text
  let chars = [...text]
  while (chars.length > 1 && ctx.measureText(`${chars.join('')}…`).width > width) chars = chars.slice(0, -1)
  return `${chars.join('')}…`
}

/** About five round values between lo and hi. */
function ticks(lo, hi) {
  const raw = (hi - lo) / 5
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v / step) * step)
  return out
}

function label(v) {
  return String(Number(v.toPrecision(4)))
}

function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

/** The text alternative of the picture. */
function describe(view) {
  const counts = new Map()
  for (const c of view.grid.cls) counts.set(c, (counts.get(c) ?? 0) + 1)
  const total = view.grid.cls.length
  const shares = view.classes
    .map((label, c) => `class ${label} ${Math.round(((counts.get(c) ?? 0) / total) * 100)} %`)
    .join(', ')
  const points = view.points
    ? ` ${view.points.x.length} validation points drawn; ${percent(view.accuracy)} predicted right.`
    : ''
  const [xName, yName] = axisNames(view)
  return `Decision boundary over ${xName} (${view.x.min} to ${view.x.max}) and ${yName} (${view.y.min} to ${view.y.max}): area by predicted class: ${shares}.${points}`
}
