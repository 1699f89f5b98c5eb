import {api} from './api.js'
import {compareView} from './compare.js'
import {clear, errorBox, h} from './dom.js'
import {modelView} from './model.js'
import {registryView} from './registry.js'
import {runView} from './run.js'
import {runsView} from './runs.js'

// Hash routes, so the page is one file the server hands out at "/" whatever the view:
//   #/runs  #/runs/<id>  #/compare?ids=a,b  #/registry[?model=name]  #/model

const ROUTES = [
  {pattern: /^#\/runs\/?$/, nav: 'runs', view: () => runsView},
  {pattern: /^#\/runs\/([^/?#]+)$/, nav: 'runs', view: (m) => (root) => runView(root, decodeURIComponent(m[1]))},
  {
    pattern: /^#\/compare(?:\?(.*))?$/,
    nav: 'runs',
    view: (m) => (root) =>
      compareView(root, new URLSearchParams(m[1] ?? '').get('ids')?.split(',').filter(Boolean) ?? []),
  },
  {
    pattern: /^#\/registry\/?(?:\?(.*))?$/,
    nav: 'registry',
    view: (m) => (root) => registryView(root, new URLSearchParams(m[1] ?? '').get('model')),
  },
  {pattern: /^#\/model\/?$/, nav: 'model', view: () => modelView},
]

const main = document.getElementById('main')
let current = {dispose: undefined}
let served = false

async function show(focus) {
  const hash = location.hash
  if (!hash.startsWith('#/')) return
  current.dispose?.()
  current = {dispose: undefined}
  const route = ROUTES.find((r) => r.pattern.test(hash))
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (route && link.dataset.nav === route.nav) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  const root = h('div', {class: 'view'})
  clear(main).append(root)
  const mine = current
  if (!route) {
    root.append(
      h('h1', {tabindex: '-1'}, 'Not found'),
      h('p', {}, 'No view at ', h('code', {}, hash), '. ', h('a', {href: '#/runs'}, 'Go to the runs.')),
    )
  } else {
    try {
      const dispose = await route.view(route.pattern.exec(hash))(root)
      if (mine === current) mine.dispose = dispose
      else dispose?.()
    } catch (err) {
      // The view's "Loading …" line goes: the error takes its place.
      for (const loading of root.querySelectorAll('.loading')) loading.remove()
      if (root.isConnected) root.append(errorBox(err))
    }
  }
  if (mine !== current) return
  const title = root.querySelector('h1')?.textContent
  document.title = title ? `${title} · morpho` : 'morpho'
  // After a navigation, move focus to the new heading so keyboard and screen-reader users start there.
  if (focus) root.querySelector('h1')?.focus({preventScroll: false})
}

async function start() {
  try {
    const info = await api.info()
    served = info.served
    const store = document.getElementById('store')
    store.textContent = `${info.mode === 'serve' ? 'morpho serve' : 'morpho ui'}${info.morpho ? ` ${info.morpho}` : ''} · store ${info.store}`
    if (!served)
      document.querySelector('[data-nav="model"]')?.setAttribute('title', 'No model is served by this process')
  } catch {
    // The views report their own errors; the header line is a nicety.
  }
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', served ? '#/model' : '#/runs')
  await show(false)
}

window.addEventListener('hashchange', () => show(true))
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault()
  main.querySelector('h1')?.focus()
})
start()
