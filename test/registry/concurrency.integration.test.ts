import {spawn} from 'node:child_process'
import {watch} from 'node:fs'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type HistoryEntry, readRegistry, registerRun, verifyVersion} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import type {StorePaths} from '../../src/store/paths.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/**
 * Many real morpho processes against one store at the same time, and a writer killed with
 * SIGKILL in the middle of a burst. Generous lock waits: the point is correctness under
 * contention on a small machine, not speed.
 */

const PATIENT = {MORPHO_LOCK_TIMEOUT_MS: '60000', MORPHO_LOCK_STALE_MS: '2000'}

let tmp: {path: string; cleanup: () => Promise<void>}
let paths: StorePaths
let store: FolderStore
beforeEach(async () => {
  tmp = await tempDir('morpho-registry-race-')
  store = new FolderStore(tmp.path)
  paths = store.paths
})
afterEach(() => tmp.cleanup())

async function expectEveryVersionVerifies(model: string) {
  const doc = await readRegistry(store)
  for (const v of doc.models[model]!.versions) {
    await verifyVersion(join(paths.home, v.path), {manifestSha256: v.manifestSha256})
  }
}

describe('concurrent writers', () => {
  it('20 `morpho register` processes at once get 20 distinct consecutive versions', async () => {
    const runs = await Promise.all(Array.from({length: 20}, (_, i) => makeRun(paths.home, {valAcc: 0.7 + i / 100})))
    const results = await Promise.all(
      runs.map((run) => runCli(['register', run.id, '--home', paths.home, '--json'], {env: PATIENT})),
    )
    for (const r of results) expect(r.code, r.stderr + r.stdout).toBe(0)
    const versions = results.map((r) => parseJson<{version: number}>(r.stdout).version)
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({length: 20}, (_, i) => i + 1))

    const doc = await readRegistry(store) // parses and validates the file
    const model = doc.models.spirals!
    expect(model.nextVersion).toBe(21)
    expect(model.versions.map((v) => v.version)).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    // each process's answer matches what the file says about its run
    runs.forEach((run, i) => {
      expect(model.versions[versions[i]! - 1]!.runId).toBe(run.id)
    })
    expect(doc.history).toHaveLength(20)
    expect(doc.history.map((h) => h.action)).toEqual(Array(20).fill('register'))
    expect(doc.history.map((h) => h.seq)).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    expect(new Set(doc.history.map((h) => h.actor.pid)).size).toBe(20)
    await expectEveryVersionVerifies('spirals')
    expect((await readdir(join(paths.home, 'models', 'spirals'))).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('concurrent promotions leave exactly one Production version, and the history explains the rest', async () => {
    for (let i = 0; i < 10; i++) await registerRun(store, (await makeRun(paths.home, {valAcc: 0.8 + i / 100})).id)
    const jobs = [
      ...[1, 2, 3, 4, 5, 6].map((v) => ['promote', 'Production', '--version', String(v)]),
      ...[7, 8, 9, 10].map((v) => ['promote', 'Staging', '--version', String(v)]),
    ]
    const results = await Promise.all(
      jobs.map((args) => runCli([...args, '--home', paths.home, '--json'], {env: PATIENT})),
    )
    for (const r of results) expect(r.code, r.stderr + r.stdout).toBe(0)

    const doc = await readRegistry(store)
    const versions = doc.models.spirals!.versions
    const inStage = (s: string) => versions.filter((v) => v.stage === s).map((v) => v.version)
    expect(inStage('Production')).toHaveLength(1)
    expect(inStage('Staging')).toHaveLength(1)
    expect(inStage('Archived')).toHaveLength(8)

    // The last promotion to land holds the stage; each earlier holder was archived by the next one.
    const transitions = doc.history.filter((h) => h.action === 'transition')
    for (const stage of ['Production', 'Staging'] as const) {
      const promotions = transitions.filter((h) => h.to === stage)
      expect(promotions.at(-1)!.version).toBe(inStage(stage)[0])
      const archived = transitions.filter((h) => h.from === stage && h.to === 'Archived')
      expect(archived.map((h) => [h.version, h.rule])).toEqual(
        promotions.slice(0, -1).map((p, i) => [p.version, {rule: 'displaced', by: promotions[i + 1]!.version}]),
      )
      for (const h of archived) expect(h.reason).toMatch(new RegExp(`^archived by promotion of v\\d+ to ${stage}$`))
    }
    expect(transitions).toHaveLength(10 + 5 + 3)
  })

  it('a writer killed with SIGKILL mid-burst leaves a registry that parses and holds every completed write', async () => {
    const runs = await Promise.all(Array.from({length: 36}, () => makeRun(paths.home, {valAcc: 0.8})))
    const ids = runs.map((r) => r.id)
    const completed = new Map<string, number>()

    // Round 0 kills at a random moment; round 1 kills as soon as the writer takes the lock, so
    // the kill lands inside the locked read-modify-write (and leaves a lock behind).
    for (const [round, batch] of [ids.slice(0, 18), ids.slice(18)].entries()) {
      const writer = spawn(
        process.execPath,
        [join(import.meta.dirname, 'helpers', 'burst-writer.mjs'), paths.home, ...batch],
        {
          env: {...process.env, ...PATIENT},
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let buffered = ''
      let lines = 0
      const killAfter = 4 + round * 3
      const watcher = watch(paths.home, (_event, name) => {
        if (round === 1 && lines >= killAfter && name === 'registry.lock') writer.kill('SIGKILL')
      })
      await new Promise<void>((resolve) => {
        writer.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString()
          let at = buffered.indexOf('\n')
          while (at >= 0) {
            const [runId, version] = buffered.slice(0, at).split(' ')
            completed.set(runId!, Number(version))
            buffered = buffered.slice(at + 1)
            at = buffered.indexOf('\n')
            if (++lines === killAfter && round === 0) {
              setTimeout(() => writer.kill('SIGKILL'), Math.floor(Math.random() * 12))
            }
          }
        })
        writer.on('exit', () => resolve())
      })
      watcher.close()
      expect(writer.signalCode).toBe('SIGKILL')

      const doc = await readRegistry(store)
      const versions = doc.models.spirals!.versions
      for (const [runId, version] of completed) expect(versions[version - 1]?.runId, runId).toBe(runId)
      // at most the one write in flight may have landed without being reported
      expect(versions.length - completed.size).toBeLessThanOrEqual(round + 1)
      expect(versions.map((v) => v.version)).toEqual(Array.from({length: versions.length}, (_, i) => i + 1))
      expect(doc.history.filter((h: HistoryEntry) => h.action === 'register')).toHaveLength(versions.length)
    }

    // The next writer recovers a lock the dead one may have left, and any half-placed folder.
    const after = await makeRun(paths.home, {valAcc: 0.99})
    const res = await runCli(['register', after.id, '--home', paths.home, '--json'], {env: PATIENT})
    expect(res.code, res.stderr + res.stdout).toBe(0)
    const next = parseJson<{version: number}>(res.stdout).version
    expect(next).toBe((await readRegistry(store)).models.spirals!.versions.length)
    await expectEveryVersionVerifies('spirals')
    expect((await readdir(join(paths.home, 'models', 'spirals'))).filter((n) => n.startsWith('.'))).toEqual([])
    expect((await readdir(paths.home)).sort()).toEqual(['models', 'registry.json', 'runs'])
  })
})
