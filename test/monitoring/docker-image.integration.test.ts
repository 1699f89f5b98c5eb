import {execFile, spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {chmod, chown, cp, mkdir, mkdtemp, readFile, rm, stat, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {ROOT} from '../helpers/cli.js'
import {execForm, type Instruction, parseDockerfile} from './helpers/dockerfile.js'
import {MONITORING, readYaml} from './helpers/monitoring-files.js'
import {waitFor} from './helpers/processes.js'

/**
 * No Docker engine runs here, so the image is checked around the engine: the Dockerfile and the
 * compose file are read for what the original got wrong (names, ports, mounts, health checks
 * with tools missing from the image), and the runtime stage is reproduced on this machine — a
 * production install of a clean copy, then morpho run from it as an unprivileged user.
 */

const dockerfile = parseDockerfile(join(ROOT, 'Dockerfile'))
const runtime = dockerfile.filter((i) => i.stage === 'runtime')
const one = (keyword: string, from: Instruction[] = runtime) => {
  const found = from.filter((i) => i.keyword === keyword)
  expect(found, keyword).toHaveLength(1)
  return found[0]!.args
}

interface ComposeService {
  image?: string
  build?: {context: string; dockerfile: string}
  command?: string[]
  entrypoint?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  profiles?: string[]
  healthcheck?: {test?: string[]; disable?: boolean}
  depends_on?: Record<string, {condition: string}> | string[]
}
const compose = parse(readFileSync(join(MONITORING, 'docker-compose.yml'), 'utf8'), {merge: true}) as {
  services: Record<string, ComposeService>
  volumes: Record<string, unknown>
}

describe('Dockerfile', () => {
  it('builds in one stage and runs from a slim one, as a non-root user', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM')
    expect(froms.map((f) => f.stage)).toEqual(['build', 'runtime'])
    expect(dockerfile.at(-1)?.stage).toBe('runtime')
    expect(
      one(
        'ARG',
        dockerfile.filter((i) => i.stage === ''),
      ),
    ).toBe('NODE_IMAGE=node:20-bookworm-slim')

    const user = one('USER')
    expect(user).not.toMatch(/^(root|0)(:|$)/)
    const created = runtime.find((i) => i.keyword === 'RUN' && i.args.includes('useradd'))
    expect(created?.args).toContain(`useradd --system --uid 10001 --gid ${user}`)
  })

  it('installs production dependencies without scripts, and copies only what runs', () => {
    const installs = runtime.filter((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))
    expect(installs).toHaveLength(1)
    expect(installs[0]!.args).toMatch(/npm ci --omit=dev --ignore-scripts\b/)
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args)
    expect(copies).toEqual(['package.json package-lock.json ./', '--from=build /src/dist ./dist', 'bin ./bin'])
    // The build stage compiles with the same lock file.
    const build = dockerfile.filter((i) => i.stage === 'build')
    expect(build.some((i) => i.keyword === 'RUN' && /npm ci --ignore-scripts\b/.test(i.args))).toBe(true)
    expect(build.some((i) => i.keyword === 'RUN' && i.args === 'npm run build')).toBe(true)
  })

  it('keeps the store on a volume, exposes 8080, checks health with morpho itself and serves by default', () => {
    expect(one('ENV')).toMatch(/MORPHO_HOME=\/data/)
    expect(one('VOLUME')).toBe('["/data"]')
    expect(one('EXPOSE')).toBe('8080')
    const health = one('HEALTHCHECK')
    expect(health).toMatch(/^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD /)
    expect(execForm(health)).toEqual(['morpho', 'health'])
    expect(execForm(one('ENTRYPOINT'))).toEqual(['morpho'])
    expect(execForm(one('CMD'))).toEqual(['serve', '--host', '0.0.0.0', '--port', '8080'])
    // Nothing installs curl or wget: the health check needs neither.
    expect(dockerfile.filter((i) => /\b(curl|wget|apt-get)\b/.test(i.args))).toEqual([])
  })

  it('has every file it copies in the build context (.dockerignore leaves them in)', async () => {
    const ignored = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    const sources = dockerfile
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    expect(sources.sort()).toEqual(
      [
        'bin',
        'bin',
        'commands',
        'package-lock.json',
        'package-lock.json',
        'package.json',
        'package.json',
        'src',
        'tsconfig.json',
      ].sort(),
    )
    for (const source of new Set(sources)) {
      expect(existsSync(join(ROOT, source)), source).toBe(true)
      expect(ignored, source).not.toContain(source)
    }
    for (const kept of ['node_modules', 'dist', '.morpho', '.git', '.env']) expect(ignored).toContain(kept)
  })
})

describe('docker-compose.yml', () => {
  const prometheus = readYaml<{
    rule_files: string[]
    alerting: {alertmanagers: {static_configs: {targets: string[]}[]}[]}
    scrape_configs: {job_name: string; static_configs: {targets: string[]}[]}[]
  }>('prometheus.yml')
  const targetsOf = (job: string) =>
    prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? []
  const mounts = (service: string) =>
    Object.fromEntries(
      (compose.services[service]?.volumes ?? []).map((v) => {
        const [source, target] = v.split(':')
        return [target!, source!]
      }),
    )

  it('names its services as the scrape targets and the alerting target do', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'grafana', 'morpho', 'prometheus', 'trainer'])
    expect(targetsOf('inference-server')).toEqual(['morpho:8080'])
    expect(targetsOf('morpho-training')).toContain('trainer:9100')
    expect(prometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['alertmanager:9093'])

    const morpho = compose.services.morpho!
    expect(morpho.build).toEqual({context: '..', dockerfile: 'Dockerfile'})
    expect(morpho.ports).toEqual(['8080:8080'])
    expect(morpho.command?.slice(0, 5)).toEqual(['serve', '--host', '0.0.0.0', '--port', '8080'])
    expect(morpho.environment?.MORPHO_HOME).toBe('/data')
    expect(mounts('morpho')['/data']).toBe('morpho-data')
    expect(morpho.healthcheck?.test).toEqual(['CMD', 'morpho', 'health'])

    const trainer = compose.services.trainer!
    expect(trainer.profiles).toEqual(['training'])
    expect(trainer.command).toEqual(expect.arrayContaining(['train', '--metrics-port', '9100']))
    expect(trainer.healthcheck).toEqual({disable: true})
    expect(mounts('trainer')['/data']).toBe('morpho-data')
  })

  it('mounts files that exist, where each tool reads them', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        if (source.startsWith('.')) expect(existsSync(join(MONITORING, source)), `${name}: ${source}`).toBe(true)
        else expect(Object.keys(compose.volumes), `${name}: ${source}`).toContain(source)
      }
    }
    // Prometheus: the config, and the rule files at the path the config names (relative to it).
    const prom = mounts('prometheus')
    expect(prom['/etc/prometheus/prometheus.yml']).toBe('./prometheus.yml')
    expect(prometheus.rule_files).toEqual(['rules/*.yml'])
    expect(prom['/etc/prometheus/rules']).toBe('./rules')
    expect(compose.services.prometheus!.command).toContain('--config.file=/etc/prometheus/prometheus.yml')

    // Grafana: provisioning, and the dashboards at the path the provider loads (the original
    // never mounted them).
    const provider = readYaml<{providers: {options: {path: string}}[]}>(
      'grafana',
      'provisioning',
      'dashboards',
      'provider.yml',
    )
    const graf = mounts('grafana')
    expect(graf['/etc/grafana/provisioning']).toBe('./grafana/provisioning')
    expect(graf[provider.providers[0]!.options.path]).toBe('./grafana/dashboards')
    const datasource = readYaml<{datasources: {url: string; uid: string}[]}>(
      'grafana',
      'provisioning',
      'datasources',
      'prometheus.yml',
    )
    expect(datasource.datasources[0]).toMatchObject({url: 'http://prometheus:9090', uid: 'prometheus'})
    expect(compose.services.prometheus!.ports).toEqual(['9090:9090'])

    // Alertmanager: the template and the script that renders it, then runs on the result.
    const am = mounts('alertmanager')
    expect(am['/etc/alertmanager/alertmanager.yml']).toBe('./alertmanager.yml')
    expect(am['/etc/alertmanager/render-config.sh']).toBe('./alertmanager/render-config.sh')
    const script = compose.services.alertmanager!.command!.join(' ')
    expect(script).toMatch(
      /render-config\.sh \/etc\/alertmanager\/alertmanager\.yml (\S+) && exec \/bin\/alertmanager --config\.file=\1 /,
    )
    expect(compose.services.alertmanager!.environment?.ALERT_WEBHOOK_URL).toMatch(/^\$\{ALERT_WEBHOOK_URL/)
  })

  it('checks health with a tool each image has', () => {
    // prom/* images are BusyBox-based and grafana/grafana is Alpine-based: wget, no curl.
    for (const [name, port, path] of [
      ['prometheus', 9090, '/-/healthy'],
      ['alertmanager', 9093, '/-/healthy'],
      ['grafana', 3000, '/api/health'],
    ] as const) {
      expect(compose.services[name]!.healthcheck?.test, name).toEqual([
        'CMD',
        'wget',
        '-q',
        '-O',
        '/dev/null',
        `http://127.0.0.1:${port}${path}`,
      ])
    }
    expect(JSON.stringify(compose)).not.toContain('curl')
  })
})

describe('the runtime stage, reproduced: production install of a clean copy, run as non-root', () => {
  let app: string
  let home: string
  let pathDir: string
  const asUser: string[] =
    process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []

  function run(command: string, args: string[], env: Record<string, string> = {}, timeout = 240_000) {
    const argv = [...asUser, command, ...args]
    return new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      execFile(
        argv[0]!,
        argv.slice(1),
        {
          cwd: app,
          timeout,
          maxBuffer: 64 * 1024 * 1024,
          env: {PATH: `${pathDir}:${process.env.PATH}`, HOME: home, NODE_ENV: 'production', MORPHO_HOME: home, ...env},
        },
        (error, stdout, stderr) =>
          resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr}),
      )
    })
  }

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'morpho-image-'))
    await chmod(root, 0o755)
    app = join(root, 'app')
    home = join(root, 'data')
    pathDir = join(root, 'usr-local-bin')
    await mkdir(app)
    await mkdir(home)
    await mkdir(pathDir)

    // COPY package.json package-lock.json ./ ; COPY bin ./bin
    await cp(join(ROOT, 'package.json'), join(app, 'package.json'))
    await cp(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'))
    await cp(join(ROOT, 'bin'), join(app, 'bin'), {recursive: true})

    // The build stage: exactly the files it copies (node_modules as `npm ci` left them), then
    // its `npm run build`; the runtime stage takes dist/ from there.
    const build = join(root, 'build')
    await mkdir(build)
    const buildStage = dockerfile.filter((i) => i.stage === 'build')
    for (const copy of buildStage.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) {
        await cp(join(ROOT, source), join(build, source), {recursive: true})
      }
    }
    await symlink(join(ROOT, 'node_modules'), join(build, 'node_modules'))
    const buildCommand = buildStage.filter((i) => i.keyword === 'RUN').at(-1)!.args
    expect(buildCommand).toBe('npm run build')
    const built = await new Promise<{code: number; out: string}>((resolve) => {
      execFile('npm', ['run', 'build'], {cwd: build, timeout: 240_000}, (error, stdout, stderr) =>
        resolve({code: error ? 1 : 0, out: stdout + stderr}),
      )
    })
    expect(built.code, built.out).toBe(0)
    await cp(join(build, 'dist'), join(app, 'dist'), {recursive: true})
    expect(existsSync(join(app, 'dist', 'ui', 'index.html'))).toBe(true)

    // RUN npm ci --omit=dev --ignore-scripts ..., exactly as the Dockerfile has it (the cache
    // mount is BuildKit's, not npm's).
    const install = runtime.find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))!.args
    const npmArgs = install.replace(/^--mount=\S+\s+/, '').split(/\s+/)
    expect(npmArgs.slice(0, 2)).toEqual(['npm', 'ci'])
    const npm = await new Promise<{code: number; out: string}>((resolve) => {
      execFile(
        'npm',
        npmArgs.slice(1),
        {cwd: app, timeout: 300_000, env: {...process.env, npm_config_prefer_offline: 'true'}},
        (error, stdout, stderr) => resolve({code: error ? 1 : 0, out: stdout + stderr}),
      )
    })
    expect(npm.code, npm.out).toBe(0)

    // RUN chmod 0755 /app/bin/run.js && ln -s /app/bin/run.js /usr/local/bin/morpho; chown of /data
    await chmod(join(app, 'bin', 'run.js'), 0o755)
    await symlink(join(app, 'bin', 'run.js'), join(pathDir, 'morpho'))
    if (asUser.length > 0) await chown(home, 65534, 65534)
  }, 600_000)

  afterAll(async () => {
    if (app) await rm(dirname(app), {recursive: true, force: true})
  })

  it('has no dev dependencies, and tfjs-node without its native addon', async () => {
    for (const dev of ['typescript', 'vitest', '@biomejs/biome', 'oclif', 'tsx']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false)
    }
    for (const prod of ['@oclif/core', 'prom-client', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
      expect(existsSync(join(app, 'node_modules', prod)), prod).toBe(true)
    }
    expect((await stat(join(app, 'node_modules', '@tensorflow', 'tfjs-node'))).isDirectory()).toBe(true)
    expect(existsSync(join(app, 'node_modules', '@tensorflow', 'tfjs-node', 'lib'))).toBe(false)
  })

  it('runs morpho from PATH as an unprivileged user, falling back from tfjs-node to wasm', async () => {
    const result = await run('morpho', ['doctor', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).not.toContain('EACCES')
    const report = JSON.parse(result.stdout) as {
      backend: {name: string; attempts: {backend: string; ok: boolean; reason?: string}[]}
      store: {path: string; writable: boolean}
    }
    expect(report.backend.name).toBe('wasm')
    expect(report.backend.attempts[0]).toMatchObject({backend: 'tensorflow', ok: false})
    expect(report.backend.attempts[0]!.reason).toContain('tfjs_binding.node')
    expect(report.store).toMatchObject({path: home, writable: true})
  })

  interface Served {
    url: string
    log: () => string
    stop: () => Promise<void>
  }

  /** `morpho serve` from the production install, as the unprivileged user, on a free port. */
  async function serveFrom(store: string): Promise<Served> {
    const argv = [...asUser, 'morpho', 'serve', '--host', '127.0.0.1', '--port', '0']
    const server = spawn(argv[0]!, argv.slice(1), {
      cwd: app,
      env: {PATH: `${pathDir}:${process.env.PATH}`, HOME: home, NODE_ENV: 'production', MORPHO_HOME: store},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let log = ''
    const collect = (d: Buffer) => {
      log += d.toString()
    }
    server.stdout.on('data', collect)
    server.stderr.on('data', collect)
    const exited = new Promise((r) => server.once('exit', r))
    const stop = async () => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM')
      await exited
    }
    try {
      const url = await waitFor(
        'morpho serve to listen',
        async () => {
          if (server.exitCode !== null) throw new Error(`morpho serve exited ${server.exitCode}`)
          return /listening on (http:\/\/[^,\s]+)/.exec(log)?.[1]
        },
        {timeoutMs: 60_000, log: () => log},
      )
      return {url, log: () => log, stop}
    } catch (err) {
      await stop()
      throw err
    }
  }

  async function healthOf(url: string) {
    const res = await fetch(`${url}/health`)
    return {status: res.status, body: (await res.json()) as Record<string, unknown>}
  }

  it('serves from the production install with an empty store: up, no model, unhealthy (exit 1)', async () => {
    const served = await serveFrom(home)
    try {
      const health = await healthOf(served.url)
      // Not ready without a model: 503, with the body that says why.
      expect(health.status).toBe(503)
      expect(health.body).toMatchObject({status: 'degraded', model_loaded: false})
      const metrics = await (await fetch(`${served.url}/metrics`)).text()
      expect(metrics).toContain('inference_model_loaded 0')
      // Healthy means "with a model": the HEALTHCHECK fails until one is promoted.
      const check = await run('morpho', ['health', '--url', served.url])
      expect(check.code, check.stdout + check.stderr).toBe(1)
      expect(check.stderr).toMatch(`Error: unhealthy: no model loaded (${served.url}/health)`)
    } finally {
      await served.stop()
    }
  })

  it('trains, promotes and serves a model from the production install: healthy (exit 0)', async () => {
    // The store the container would keep in /data, owned by the user the image runs as.
    const store = join(dirname(home), 'data-trained')
    await mkdir(store)
    if (asUser.length > 0) await chown(store, 65534, 65534)
    const env = {MORPHO_HOME: store}
    const tiny = ['--samples', '240', '--hidden-dim', '8', '--num-layers', '2']
    const trained = await run(
      'morpho',
      ['train', ...tiny, '--warm-up-epochs', '3', '--adaptation-epochs', '3', '--register-at', '0', '--quiet'],
      env,
    )
    expect(trained.code, trained.stderr).toBe(0)
    expect(trained.stdout).toMatch(/registered spirals v1/)
    const promoted = await run('morpho', ['promote', 'Production', '--version', '1'], env)
    expect(promoted.code, promoted.stderr).toBe(0)

    const served = await serveFrom(store)
    try {
      const health = await healthOf(served.url)
      expect(health).toMatchObject({
        status: 200,
        body: {
          status: 'healthy',
          model_loaded: true,
          model_name: 'spirals',
          model_version: '1',
          model_stage: 'Production',
        },
      })
      const check = await run('morpho', ['health', '--url', served.url])
      expect(check.code, check.stdout + check.stderr).toBe(0)
      expect(check.stdout.trim()).toBe(`healthy: spirals v1 (Production) at ${served.url}/health`)
    } finally {
      await served.stop()
    }
  })
})
