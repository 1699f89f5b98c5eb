#!/usr/bin/env node
// Serving benchmark: `morpho serve` (the built CLI) with a model trained with the default
// flags, side by side with a bare node:http server started in the same run, which reads the
// same JSON body, parses it and answers a fixed JSON of the same size: the practical limit of
// any Node server on this machine. autocannon drives both with the same connections and
// duration, interleaved case by case so machine load falls on both alike. Then a long run at
// 64 connections with RSS and the TF.js tensor count before and after, and the cost per row of
// each forward pass (TF.js and plain JavaScript) measured in this process.
//
//   node test/bench/serve.mjs                    full run (a few minutes; trains a model first)
//   node test/bench/serve.mjs --quick            short cases, for `npm run bench`
//   node test/bench/serve.mjs --store DIR        serve the Production model of DIR (trains into DIR when it has none)
//   node test/bench/serve.mjs --reuse            keep the trained store in $TMPDIR/morpho-bench-serve for the next run
//   node test/bench/serve.mjs --duration 10 --soak 60   seconds per case, seconds of the long run
//
// Needs a build (npm run bench:serve does it). Prints Markdown.

import {execFile, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer} from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = join(root, 'bin', 'run.js')
const argv = process.argv.slice(2)
const flag = (name) => argv.includes(`--${name}`)
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`)
  return at >= 0 ? argv[at + 1] : fallback
}

if (flag('bare-server')) await bareServer()
else await main()

// ---- The reference: a bare node:http JSON server ----------------------------------------------

async function bareServer() {
  const answers = new Map()
  // The same shape and digits as morpho's answer for n rows.
  const answer = (n) => {
    let text = answers.get(n)
    if (!text) {
      const predictions = Array.from({length: n}, (_, i) => i % 2)
      const probabilities = Array.from({length: n}, () => [0.35331112146377563, 0.6466888785362244])
      text = JSON.stringify({predictions, probabilities, model_version: '1', inference_time_ms: 0.093})
      answers.set(n, text)
    }
    return text
  }
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      let n = 1
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        if (Array.isArray(body.data)) n = body.data.length
      } catch {}
      const text = answer(n)
      res.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text)})
      res.end(text)
    })
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`))
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

// ---- The run ----------------------------------------------------------------------------------

async function main() {
  const autocannon = (await import('autocannon')).default
  const quick = flag('quick')
  const duration = Number(option('duration', quick ? 3 : 10))
  const soakSeconds = Number(option('soak', quick ? 10 : 60))
  const env = {...process.env, NODE_ENV: 'production', NO_COLOR: '1'}

  // 1. A store with a Production model trained with the default flags.
  let home = option('store')
  let temporary = false
  if (!home) {
    home = flag('reuse') ? join(tmpdir(), 'morpho-bench-serve') : await mkdtemp(join(tmpdir(), 'morpho-bench-serve-'))
    temporary = !flag('reuse')
  }
  const production = await morphoJson(['production', '--home', home], env).catch(() => undefined)
  let trainedSeconds
  if (!production) {
    process.stderr.write(`training a model with the default flags into ${home} ...\n`)
    const t = performance.now()
    const out = await morphoJson(['train', '--home', home, '--register-at', '0', '--quiet'], env)
    trainedSeconds = (performance.now() - t) / 1000
    const version = out.registry.registered.version
    await morphoJson(['promote', 'Production', '--version', String(version), '--home', home], env)
  }
  const model = await morphoJson(['production', '--home', home], env)

  // 2. Both servers.
  const morpho = await start(process.execPath, [bin, 'serve', '--home', home, '--port', '0', '--debug'], env)
  const bare = await start(process.execPath, [fileURLToPath(import.meta.url), '--bare-server'], env)
  const noBatching = flag('skip-batching-comparison')
    ? undefined
    : await start(process.execPath, [bin, 'serve', '--home', home, '--port', '0', '--no-micro-batching'], env)
  const forward = /forward: (.*)\)$/m.exec(morpho.log())?.[1] ?? 'unknown'

  // 3. The cases.
  const rows = (n) => {
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return Math.round(((seed / 2 ** 31) * 24 - 12) * 1e4) / 1e4
    }
    return JSON.stringify({data: Array.from({length: n}, () => Array.from({length: inputDim}, next))})
  }
  const inputDim = await fetch(`${morpho.url}/v2/models/${model.model}`)
    .then((r) => r.json())
    .then((m) => m.inputs[0].shape[1])
  const cases = [
    {name: '1 row, 1 connection', rows: 1, connections: 1},
    {name: '1 row, 16 connections', rows: 1, connections: 16},
    {name: '1 row, 64 connections', rows: 1, connections: 64, target: true},
    {name: '32 rows, 16 connections', rows: 32, connections: 16},
    {name: '1024 rows, 8 connections', rows: 1024, connections: 8},
  ]
  const load = (url, body, connections, seconds) =>
    autocannon({
      url: `${url}/predict`,
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body,
      connections,
      duration: seconds,
    })
  const summary = (r, n) => ({
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    rowsPerSecond: r.requests.average * n,
  })

  process.stderr.write('warming up both servers ...\n')
  for (const server of [morpho, bare, noBatching].filter(Boolean)) {
    await load(server.url, rows(1), 16, 2)
    await load(server.url, rows(1024), 4, 1)
  }
  const results = []
  for (const c of cases) {
    const body = rows(c.rows)
    process.stderr.write(`${c.name} ...\n`)
    const m = summary(await load(morpho.url, body, c.connections, duration), c.rows)
    const b = summary(await load(bare.url, body, c.connections, duration), c.rows)
    results.push({...c, morpho: m, bare: b})
  }
  let unbatched
  if (noBatching) {
    process.stderr.write('1 row, 64 connections, --no-micro-batching ...\n')
    unbatched = summary(await load(noBatching.url, rows(1), 64, duration), 1)
  }

  // 4. The long run: memory and tensors before and after.
  // RSS saw-tooths with V8's heap (grows, then a major GC gives it back), so one reading
  // before and one after can mislead: sample it through the run and compare the thirds.
  const before = await debugMemory(morpho.url)
  process.stderr.write(`long run: ${soakSeconds} s at 64 connections ...\n`)
  const samples = []
  const sampler = setInterval(() => {
    debugMemory(morpho.url).then(
      (m) => samples.push(m),
      () => undefined,
    )
  }, 2000)
  const soak = summary(await load(morpho.url, rows(1), 64, soakSeconds), 1)
  clearInterval(sampler)
  const after = await debugMemory(morpho.url)
  const third = Math.max(1, Math.floor(samples.length / 3))
  const medianRss = (xs) => xs.map((m) => m.rss).sort((a, b) => a - b)[xs.length >> 1]
  const trend = {
    first: samples.length > 0 ? medianRss(samples.slice(0, third)) : before.rss,
    last: samples.length > 0 ? medianRss(samples.slice(-third)) : after.rss,
    max: Math.max(before.rss, after.rss, ...samples.map((m) => m.rss)),
  }

  for (const s of [morpho, bare, noBatching].filter(Boolean)) await s.stop()
  const perRow = await predictorCosts(model.dir)
  if (temporary) await rm(home, {recursive: true, force: true})

  // 5. The report.
  const fmt = (x, d = 0) =>
    x === undefined ? '-' : x.toLocaleString('en-US', {maximumFractionDigits: d, minimumFractionDigits: d})
  const out = []
  out.push('## morpho serve vs a bare node:http server (same run, same load)')
  out.push('')
  out.push(
    `Node ${process.versions.node}, ${model.model} v${model.version} (${describeModel(perRow.arch)}${trainedSeconds ? `, trained in ${fmt(trainedSeconds, 1)} s` : ''}), forward pass: ${forward}. autocannon (latency in whole milliseconds), ${duration} s per case; load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}.`,
  )
  out.push('')
  out.push(
    '| case | morpho req/s | p50 ms | p99 ms | errors | rows/s | bare req/s | bare p50 | bare p99 | bare errors | ratio |',
  )
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of results) {
    out.push(
      `| ${r.name} | ${fmt(r.morpho.rps)} | ${fmt(r.morpho.p50)} | ${fmt(r.morpho.p99)} | ${r.morpho.errors} | ${fmt(r.morpho.rowsPerSecond)} | ${fmt(r.bare.rps)} | ${fmt(r.bare.p50)} | ${fmt(r.bare.p99)} | ${r.bare.errors} | ${fmt(r.morpho.rps / r.bare.rps, 2)} |`,
    )
  }
  if (unbatched) {
    const bare64 = results.find((r) => r.target).bare
    out.push(
      `| 1 row, 64 connections, --no-micro-batching | ${fmt(unbatched.rps)} | ${fmt(unbatched.p50)} | ${fmt(unbatched.p99)} | ${unbatched.errors} | ${fmt(unbatched.rowsPerSecond)} | ${fmt(bare64.rps)} | ${fmt(bare64.p50)} | ${fmt(bare64.p99)} | ${bare64.errors} | ${fmt(unbatched.rps / bare64.rps, 2)} |`,
    )
  }
  out.push('')
  out.push(
    `Long run: ${soakSeconds} s, 1 row at 64 connections: ${fmt(soak.rps)} req/s, p99 ${fmt(soak.p99)} ms, ${soak.errors} errors.`,
  )
  out.push('')
  out.push('| | before | after |')
  out.push('|---|---:|---:|')
  out.push(`| RSS MB | ${fmt(before.rss / 2 ** 20, 1)} | ${fmt(after.rss / 2 ** 20, 1)} |`)
  out.push(
    `| RSS MB, median of the first / last third of the run (max) | ${fmt(trend.first / 2 ** 20, 1)} | ${fmt(trend.last / 2 ** 20, 1)} (${fmt(trend.max / 2 ** 20, 1)}) |`,
  )
  out.push(`| heap used MB | ${fmt(before.heap_used / 2 ** 20, 1)} | ${fmt(after.heap_used / 2 ** 20, 1)} |`)
  out.push(`| TF.js tensors | ${before.tensors} | ${after.tensors} |`)
  out.push(`| TF.js backend buffers | ${before.data_buffers} | ${after.data_buffers} |`)
  out.push('')
  out.push('Forward pass alone, this process, median µs per call (µs per row):')
  out.push('')
  out.push('| rows | TF.js (' + perRow.backend + ') | JavaScript |')
  out.push('|---:|---:|---:|')
  for (const p of perRow.rows) {
    out.push(`| ${p.n} | ${fmt(p.tf, 0)} (${fmt(p.tf / p.n, 2)}) | ${fmt(p.js, 0)} (${fmt(p.js / p.n, 2)}) |`)
  }
  out.push('')
  const target = results.find((r) => r.target)
  const big = results.find((r) => r.rows === 1024)
  const verdict = (ok) => (ok ? 'met' : 'NOT met')
  out.push('Targets:')
  out.push(
    `- 1 row at 64 connections >= 0.6x the bare server: ${fmt(target.morpho.rps / target.bare.rps, 2)}x, ${verdict(target.morpho.rps >= 0.6 * target.bare.rps)}; p99 under 10 ms: ${fmt(target.morpho.p99)} ms, ${verdict(target.morpho.p99 < 10)}; zero errors: ${target.morpho.errors}, ${verdict(target.morpho.errors === 0)}`,
  )
  out.push(
    `- 1024 rows per request >= 200,000 rows/s: ${fmt(big.morpho.rowsPerSecond)}, ${verdict(big.morpho.rowsPerSecond >= 200_000)}`,
  )
  out.push(
    `- no growth over the long run: tensors ${before.tensors} → ${after.tensors}, backend buffers ${before.data_buffers} → ${after.data_buffers} (${verdict(before.tensors === after.tensors && before.data_buffers === after.data_buffers)}); RSS ${fmt(before.rss / 2 ** 20, 1)} → ${fmt(after.rss / 2 ** 20, 1)} MB, median of the first third ${fmt(trend.first / 2 ** 20, 1)} → last third ${fmt(trend.last / 2 ** 20, 1)} MB (${verdict(trend.last <= trend.first * 1.1)}: within 10 %)`,
  )
  process.stdout.write(`${out.join('\n')}\n`)
}

// ---- Helpers ----------------------------------------------------------------------------------

function morphoJson(args, env) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args, '--json'], {env, maxBuffer: 1 << 26}, (err, stdout, stderr) => {
      if (err) return reject(new Error(`morpho ${args.join(' ')} failed (${err.code}): ${stdout || stderr}`))
      resolve(JSON.parse(stdout))
    })
  })
}

/** Starts a server process and waits for its "listening on <url>" line. */
function start(command, args, env) {
  const child = spawn(command, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      log += d.toString()
      const match = /listening on (http:\/\/[^,\s]+)/.exec(log)
      if (match) {
        resolve({
          url: match[1],
          log: () => log,
          stop: () =>
            new Promise((done) => {
              child.once('exit', done)
              child.kill('SIGTERM')
            }),
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${log}`)))
  })
}

async function debugMemory(url) {
  return (await fetch(`${url}/debug/memory`)).json()
}

function describeModel(arch) {
  return `${arch.inputDim}→${arch.hiddenDim}×${arch.numLayers}→${arch.numClasses}, ${arch.activeSeeds} active seed${arch.activeSeeds === 1 ? '' : 's'}`
}

/** Median time of each predictor at 1, 32 and 1024 rows, on the served model's files. */
async function predictorCosts(dir) {
  const dist = (p) => join(root, 'dist', 'src', p)
  if (!existsSync(dist('model/predictor.js'))) throw new Error('build first: npm run build')
  const {createJsPredictor, createTfPredictor} = await import(dist('model/predictor.js'))
  const {loadModelFiles} = await import(dist('model/serialize.js'))
  const {loadTf} = await import(dist('tf/backend.js'))
  const loaded = await loadModelFiles(dir)
  const {tf, backend} = await loadTf(process.env.MORPHO_BACKEND ?? 'auto')
  const js = createJsPredictor(loaded)
  const tfp = createTfPredictor(tf, loaded)
  const d = loaded.file.architecture.inputDim
  const time = (p, n) => {
    const x = new Float32Array(n * d).map((_, i) => Math.sin(i))
    const calls = n >= 1024 ? 30 : n >= 32 ? 300 : 3000
    for (let i = 0; i < Math.min(calls, 500); i++) p.predictProba(x, n)
    const samples = []
    for (let i = 0; i < calls; i++) {
      const t = performance.now()
      p.predictProba(x, n)
      samples.push((performance.now() - t) * 1000)
    }
    samples.sort((a, b) => a - b)
    return samples[samples.length >> 1]
  }
  const out = [1, 32, 1024].map((n) => ({n, tf: time(tfp, n), js: time(js, n)}))
  tfp.dispose()
  const activeSeeds = loaded.file.seeds.filter((s) => s.state !== 'dormant' && s.alpha > 0).length
  return {rows: out, backend: backend.name, arch: {...loaded.file.architecture, activeSeeds}}
}
