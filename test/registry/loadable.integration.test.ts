import {readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {WEIGHTS_FILE} from '../../src/model/model-file.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {parseJson, runCli, TINY, tempDir} from '../helpers/cli.js'
import {makeRun, nanWeights, plantVersion, promoteUnchecked} from '../helpers/runs.js'
import {BACKENDS, openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * A model that cannot load never reaches the registry or a stage a server follows, with the
 * built CLI: `register` loads the run's model and makes a test prediction first; promoting to
 * Staging or Production (and rolling back) does it again; a refused registration leaves no
 * empty models/<name>/ folder; and automatic promotion to Staging keeps a better holder.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

type Files = Map<string, Uint8Array>

describe.each(BACKENDS)('only loadable models are registered and promoted (built CLI, %s store)', (backend) => {
  let t: TestStore
  beforeEach(async () => {
    t = await openTestStore(backend)
  })
  afterEach(() => t.cleanup())

  const cli = (...args: string[]) => runCli([...args, '--store', t.locator])
  const versions = async () => {
    const res = await cli('list', '--json')
    return res.code === 0 ? parseJson<{versions: {version: number; stage: string}[]}>(res.stdout).versions : []
  }

  it.each([
    ['a model.json that is "{"', (f: Files) => void f.set('model.json', Buffer.from('{')), /Unreadable model file/],
    [
      'truncated weights',
      (f: Files) => void f.set(WEIGHTS_FILE, f.get(WEIGHTS_FILE)!.slice(0, 10)),
      /bytes; the manifest expects/,
    ],
    [
      'NaN weights',
      (f: Files) => void f.set(WEIGHTS_FILE, nanWeights(f.get(WEIGHTS_FILE)!)),
      /^weight input\/kernel\[0\] in runs\/.*\/model is NaN$/,
    ],
  ])('refuses a run with %s (exit 7), registering nothing', async (_what, damage, problem) => {
    const run = await makeRun(t.store, {modelFiles: damage})
    const res = await cli('register', run.id, '--json')
    expect(res.code, res.stdout).toBe(7)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error.code).toBe('INTEGRITY')
    expect(error.message).toMatch(new RegExp(`^Refusing to register run ${run.id}: its model does not load: `))
    expect(String(error.details?.problem)).toMatch(problem)
    expect(error.hint).toMatch(/^Nothing was registered/)
    expect(await versions()).toEqual([])
    if (backend === 'folder') expect(await readdir(t.home)).not.toContain('models')

    // The same run, whole, registers.
    const whole = await makeRun(t.store)
    const ok = await cli('register', whole.id, '--json')
    expect(ok.code, ok.stdout).toBe(0)
    expect(parseJson<{version: number}>(ok.stdout).version).toBe(1)
  })

  it('refuses to promote a broken version an older registry holds to Staging or Production, and rollback passes it over', async () => {
    const good = await makeRun(t.store)
    const files = (await t.store.runs.modelFiles(good.id))!
    expect((await cli('register', good.id)).code).toBe(0)
    expect((await cli('promote', 'Production', '--version', '1')).code).toBe(0)
    files.set(WEIGHTS_FILE, nanWeights(files.get(WEIGHTS_FILE)!))
    const broken = await plantVersion(t.store, {model: 'spirals', runId: good.id, files})

    for (const stage of ['Production', 'Staging']) {
      const res = await cli('promote', stage, '--version', String(broken), '--json')
      expect(res.code, res.stdout).toBe(7)
      expect(parseJson<ErrorOut>(res.stdout).error.message).toMatch(
        new RegExp(
          `^Refusing to promote spirals v${broken} to ${stage}: its model does not load: weight input/kernel\\[0\\]`,
        ),
      )
    }
    // It can still be retired.
    expect((await cli('promote', 'Archived', '--version', String(broken))).code).toBe(0)
    expect((await versions()).map((v) => [v.version, v.stage])).toEqual([
      [broken, 'Archived'],
      [1, 'Production'],
    ])

    // Had it been in Production once (an older morpho let it), rollback would not put it back.
    await promoteUnchecked(t.store, 'spirals', broken)
    expect((await cli('register', good.id)).code).toBe(0)
    expect((await cli('promote', 'Production', '--version', '3')).code).toBe(0)
    const back = await cli('rollback', '--json')
    expect(back.code, back.stdout).toBe(0)
    const rolled = parseJson<{version: number; skipped: {version: number; reason: string}[]}>(back.stdout)
    expect(rolled.version).toBe(1)
    expect(rolled.skipped).toEqual([
      {
        version: broken,
        reason: expect.stringMatching(/^Refusing to promote spirals v2 to Production: its model does not load/),
      },
    ])
  })
})

describe('a registered version whose file became a symbolic link (built CLI, folder store)', () => {
  it('is refused as a changed store (exit 7), and the file it points to is not read', async () => {
    const home = await tempDir()
    const store = new FolderStore(home.path)
    const run = await makeRun(store)
    const registered = await runCli(['register', run.id, '--json', '--home', home.path])
    expect(registered.code, registered.stdout).toBe(0)
    const {model, version} = parseJson<{entry: {model: string; version: number}}>(registered.stdout).entry
    const weights = join(home.path, 'models', model, String(version), WEIGHTS_FILE)
    // The same bytes behind the link: only the link itself can make it fail.
    const outside = join(home.path, '..', `linked-weights-${process.pid}.bin`)
    await writeFile(outside, await readFile(weights))
    await rm(weights)
    await symlink(outside, weights)
    try {
      const res = await runCli([
        'predict',
        '--version',
        String(version),
        '--data',
        '[[0, 0]]',
        '--json',
        '--home',
        home.path,
      ])
      expect(res.code, res.stdout).toBe(7)
      const error = parseJson<ErrorOut>(res.stdout).error
      expect(error.code).toBe('INTEGRITY')
      expect(error.message).toContain(`${weights} is a symbolic link`)
    } finally {
      await rm(outside, {force: true})
      await home.cleanup()
    }
  })
})

describe('refused registrations leave no folder behind (built CLI, folder store)', () => {
  it('for a symbolic link in the run, or at the lock', async () => {
    const home = await tempDir()
    const store = new FolderStore(home.path)
    const modelDir = (runId: string) => join(home.path, 'runs', runId, 'model')
    const linked = await makeRun(store)
    const outside = join(home.path, '..', `outside-weights-${process.pid}.bin`)
    await writeFile(outside, await readFile(join(modelDir(linked.id), WEIGHTS_FILE)))
    await rm(join(modelDir(linked.id), WEIGHTS_FILE))
    await symlink(outside, join(modelDir(linked.id), WEIGHTS_FILE))
    try {
      const res = await runCli(['register', linked.id, '--json', '--home', home.path])
      expect(res.code, res.stdout).toBe(7)
      const error = parseJson<ErrorOut>(res.stdout).error
      expect(error.code).toBe('INTEGRITY')
      expect(error.message).toContain(`${WEIGHTS_FILE} is a symbolic link`)
      expect(await readdir(home.path)).not.toContain('models')
    } finally {
      await rm(outside, {force: true})
    }

    // Refused after its files were copied in: the copy and the folder made for it both go.
    const run = await makeRun(store)
    await writeFile(join(home.path, 'registry.lock'), '')
    const locked = await runCli(['register', run.id, '--json', '--home', home.path])
    expect(locked.code, locked.stdout).toBe(7)
    expect(await readdir(join(home.path, 'models')).catch(() => [])).toEqual([])
    await home.cleanup()
  })
})

/** A metric as the registry's messages print it. */
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4))

describe('automatic promotion to Staging (built CLI)', () => {
  it('keeps a better Staging holder: a run finishing later with a lower val_acc does not archive it', async () => {
    const home = await tempDir()
    const scratch = await tempDir()
    interface Out {
      run: {runId: string; summary: {val_acc: number}}
      registry: {messages: string[]; registered?: {version: number}; promoted?: unknown; notStaged?: string}
    }
    const train = async (where: string, seed: number, auto: boolean) => {
      const flags = auto ? ['--register-at', '0', '--stage-at', '0', '--model', 'race'] : ['--no-register']
      const res = await runCli([
        'train',
        ...TINY,
        '--seed',
        String(seed),
        ...flags,
        '--json',
        '--quiet',
        '--home',
        where,
      ])
      expect(res.code, res.stderr).toBe(0)
      return parseJson<Out>(res.stdout)
    }
    // Same seed, same backend, same metrics: find two seeds whose val_acc differ, then train
    // the better one first, as a faster concurrent job would finish first.
    const acc = new Map<number, number>()
    let pair: [number, number] | undefined
    for (let seed = 1; !pair && seed <= 8; seed++) {
      acc.set(seed, (await train(scratch.path, seed, false)).run.summary.val_acc)
      const other = [...acc.keys()].find((s) => acc.get(s) !== acc.get(seed))
      if (other !== undefined) pair = acc.get(other)! > acc.get(seed)! ? [other, seed] : [seed, other]
    }
    expect(pair, 'two seeds with different val_acc').toBeDefined()
    const [better, worse] = pair!

    const first = await train(home.path, better, true)
    expect(first.registry.promoted).toBeDefined()
    const second = await train(home.path, worse, true)
    expect(second.registry.registered?.version).toBe(2)
    expect(second.registry.promoted).toBeUndefined()
    expect(second.registry.notStaged).toBe(
      `v1 holds Staging with val_acc ${fmt(acc.get(better)!)} >= ${fmt(acc.get(worse)!)}`,
    )
    expect(second.registry.messages).toContain(`not promoted to Staging: ${second.registry.notStaged}`)
    const listed = parseJson<{versions: {version: number; stage: string}[]}>(
      (await runCli(['list', '--json', '--home', home.path])).stdout,
    ).versions
    expect(listed.map((v) => [v.version, v.stage])).toEqual([
      [2, 'None'],
      [1, 'Staging'],
    ])
    await home.cleanup()
    await scratch.cleanup()
  })
})
