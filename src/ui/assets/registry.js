import {api} from './api.js'
import {errorBox, h, num, runLink, section, stageBadge, time} from './dom.js'

// The registry: each model's versions with stage, aliases, metrics and run; then the history
// of every transition, newest first.

const SHOWN_VERSIONS = 100

export async function registryView(root, selected) {
  root.append(h('h1', {tabindex: '-1'}, 'Registry'), h('p', {class: 'loading'}, 'Loading the registry…'))
  const [models, runs] = await Promise.all([api.models(), api.runs().catch(() => ({runs: []}))])
  // With several models, one at a time: the list says which, and the history follows it.
  const model = models.models.find((m) => m.name === selected) ?? models.models[0]
  const history = await api.history(200, models.models.length > 1 ? model?.name : undefined)
  root.querySelector('.loading')?.remove()
  const runIds = new Set(runs.runs.map((r) => r.runId))
  if (models.models.length === 0) {
    root.append(
      h(
        'p',
        {},
        'Nothing is registered yet. Runs above the threshold register themselves; or use ',
        h('code', {}, 'morpho register <run-id>'),
        '.',
      ),
    )
  }
  if (models.models.length > 1) root.append(modelList(models.models, model.name))
  if (model) root.append(modelSection(model, runIds))
  root.append(historySection(history, models.models.length > 1 ? model?.name : undefined))
  return undefined
}

/** The registered models as links, the one shown marked: each with its version count and Production. */
function modelList(models, current) {
  return h(
    'nav',
    {class: 'model-list', 'aria-label': 'Models'},
    h('h2', {class: 'visually-hidden'}, 'Models'),
    h(
      'ul',
      {class: 'model-items'},
      models.map((m) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              class: 'model-link',
              href: `#/registry?model=${encodeURIComponent(m.name)}`,
              'aria-current': m.name === current ? 'page' : null,
            },
            h('span', {class: 'model-name'}, m.name),
            h(
              'span',
              {class: 'muted'},
              ` ${m.versions.length} version${m.versions.length === 1 ? '' : 's'}`,
              m.stages.Production === null ? '' : ` · Production v${m.stages.Production}`,
            ),
          ),
        ),
      ),
    ),
  )
}

function modelSection(model, runIds) {
  const id = `model-${model.name.replace(/[^A-Za-z0-9_-]/g, '_')}`
  const stageLine = [
    ['Production', model.stages.Production],
    ['Staging', model.stages.Staging],
  ].map(([stage, v]) => h('span', {class: 'nowrap'}, stageBadge(stage), ' ', v === null ? 'none' : `v${v}`))
  const aliases = Object.entries(model.aliases)
  const [sec, body] = section(
    `Model ${model.name}`,
    id,
    h(
      'p',
      {class: 'model-meta'},
      stageLine.flatMap((s, i) => (i ? [' · ', s] : [s])),
      ' · ',
      aliases.length ? `aliases: ${aliases.map(([a, v]) => `${a} → v${v}`).join(', ')}` : 'no aliases',
      ` · ${model.versions.length} version${model.versions.length === 1 ? '' : 's'}`,
    ),
  )
  const table = h('table', {class: 'data versions', id: `${id}-versions`})
  const wrap = h('div', {class: 'table-wrap'}, table)
  body.append(wrap)
  const render = (all) => {
    const shown = all ? model.versions : model.versions.slice(0, SHOWN_VERSIONS)
    table.replaceChildren(
      h(
        'caption',
        {},
        `Versions of ${model.name}, newest first${shown.length < model.versions.length ? ` (the newest ${shown.length} of ${model.versions.length})` : ''}`,
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Version', 'Stage', 'Aliases', 'val_acc', 'val_loss', 'Run', 'Registered', 'By', 'Description'].map((t) =>
            h('th', {scope: 'col', class: ['val_acc', 'val_loss', 'Version'].includes(t) ? 'num' : null}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        shown.map((v) =>
          h(
            'tr',
            {dataset: {version: String(v.version)}},
            h('th', {scope: 'row', class: 'num'}, `v${v.version}`),
            h('td', {class: 'stage'}, stageBadge(v.stage)),
            h('td', {}, v.aliases.length ? v.aliases.map((a) => h('span', {class: 'badge alias'}, a)) : '–'),
            h('td', {class: 'num'}, num(v.metrics.val_acc)),
            h('td', {class: 'num'}, num(v.metrics.val_loss)),
            h(
              'td',
              {},
              runIds.has(v.runId) ? runLink(v.runId) : h('span', {class: 'mono', title: 'not in this store'}, v.runId),
            ),
            h('td', {}, time(v.createdAt)),
            h('td', {}, ruleText(v.registeredBy)),
            h('td', {}, v.description ?? '–'),
          ),
        ),
      ),
    )
  }
  render(false)
  if (model.versions.length > SHOWN_VERSIONS) {
    const more = h('button', {type: 'button'}, `Show all ${model.versions.length} versions`)
    more.addEventListener('click', () => {
      render(true)
      more.remove()
    })
    body.append(more)
  }
  return sec
}

function historySection(history, model) {
  const [sec, body] = section(model ? `Transition history of ${model}` : 'Transition history', 'history')
  if (history.entries.length === 0) {
    body.append(h('p', {}, 'No transitions yet.'))
    return sec
  }
  body.append(
    h(
      'div',
      {class: 'table-wrap'},
      h(
        'table',
        {class: 'data history'},
        h(
          'caption',
          {},
          `Registry history, newest first${history.total > history.entries.length ? ` (the newest ${history.entries.length} of ${history.total})` : ''}`,
        ),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['#', 'Time', 'Model', 'Version', 'Action', 'Change', 'Reason', 'By'].map((t) =>
              h('th', {scope: 'col'}, t),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          history.entries.map((e) =>
            h(
              'tr',
              {},
              h('th', {scope: 'row', class: 'num'}, String(e.seq)),
              h('td', {}, time(e.time)),
              h('td', {}, e.model),
              h('td', {class: 'num'}, `v${e.version}`),
              h('td', {}, e.action.replace('_', ' ')),
              h('td', {}, change(e)),
              h('td', {}, e.reason),
              h('td', {class: 'muted'}, `${e.actor?.user ?? '?'}@${e.actor?.host ?? '?'}`),
            ),
          ),
        ),
      ),
    ),
  )
  return sec
}

function change(e) {
  if (e.action === 'alias_set' || e.action === 'alias_delete') {
    const v = (x) => (x === null ? 'none' : `v${x}`)
    return `${e.alias}: ${v(e.from)} → ${v(e.to)}`
  }
  return h(
    'span',
    {class: 'nowrap'},
    e.from === null ? '–' : stageBadge(e.from),
    ' → ',
    e.to === null ? '–' : stageBadge(e.to),
  )
}

function ruleText(rule) {
  if (!rule) return '–'
  if (rule.rule === 'auto') return `auto (${rule.metric} ≥ ${rule.threshold})`
  return rule.rule
}

export {errorBox}
