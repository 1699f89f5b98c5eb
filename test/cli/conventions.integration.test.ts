import {execFile} from 'node:child_process'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'

/** What people type by habit, through the built CLI: help, -h, mistyped commands and flags, Tab. */

describe('help and mistakes (built CLI)', () => {
  it('answers `help`, `help <command>`, `-h` and `--help` with the same text', async () => {
    const root = await runCli(['help'])
    expect(root.code).toBe(0)
    expect(root.stdout).toBe((await runCli(['--help'])).stdout)
    expect(root.stdout).toMatch(/^COMMANDS$/m)

    const train = await runCli(['help', 'train'])
    expect(train.code).toBe(0)
    expect(train.stdout).toMatch(/^USAGE\n {2}\$ morpho train /m)
    expect((await runCli(['train', '-h'])).stdout).toBe(train.stdout)
    expect((await runCli(['train', '--help'])).stdout).toBe(train.stdout)

    const two = await runCli(['help', 'runs', 'list'])
    expect(two.stdout).toBe((await runCli(['runs', 'list', '-h'])).stdout)
    expect(two.stdout).toMatch(/^USAGE\n {2}\$ morpho runs list /m)
  })

  it('describes a command as JSON for scripts', async () => {
    const res = await runCli(['help', 'promote', '--json'])
    expect(res.code).toBe(0)
    const help = parseJson<{command: string; args: unknown[]; flags: {name: string}[]}>(res.stdout)
    expectShape('help', help)
    expect(help).toMatchObject({
      command: 'promote',
      summary: 'Move a version to Staging, Production or Archived.',
      args: [{name: 'stage', description: 'Staging, Production or Archived (any case).', required: true}],
    })
    expect(help.flags.find((f) => f.name === 'archive')).toEqual({
      name: 'archive',
      char: null,
      aliases: [],
      description: 'Archive the previous holders of the stage (--no-archive: see the description).',
      type: 'boolean',
      options: null,
      default: true,
      multiple: false,
      required: false,
    })
    const topic = parseJson<{commands: {command: string}[]}>((await runCli(['help', 'runs', '--json'])).stdout)
    expectShape('help', topic)
    expect(topic.commands.map((c) => c.command)).toEqual(['runs delete', 'runs list', 'runs show'])
  })

  it('names the nearest command for a mistyped one (exit 2), also under --json', async () => {
    const human = await runCli(['tran'])
    expect(human).toMatchObject({code: 2, stdout: ''})
    expect(human.stderr).toMatch(/"tran" is not a morpho command\n.*Did you mean morpho train\?/)
    expect((await runCli(['runs', 'lst'])).stderr).toMatch(/Did you mean morpho runs list\?/)
    expect((await runCli(['help', 'prodution'])).stderr).toMatch(/Did you mean morpho production\?/)

    const json = await runCli(['promot', 'Production', '--json'])
    expect(json.code).toBe(2)
    expect(parseJson(json.stdout)).toEqual({
      error: {
        code: 'USAGE',
        exitCode: 2,
        message: '"promot" is not a morpho command',
        hint: 'Did you mean morpho promote?',
        details: {command: 'promot', suggestion: 'promote'},
      },
    })
    const far = await runCli(['xyzzy', '--json'])
    expect(parseJson<{error: {hint: string}}>(far.stdout).error.hint).toBe('See morpho help for the commands.')
  })

  it('names the nearest flag for a mistyped one (exit 2), and the nearest training flag for a --param key', async () => {
    const flag = await runCli(['list', '--stag', 'Production', '--json'])
    expect(flag.code).toBe(2)
    expect(parseJson(flag.stdout)).toEqual({
      error: {
        code: 'USAGE',
        exitCode: 2,
        message: 'Unknown flag --stag',
        hint: 'Did you mean --stage? See morpho list --help for its flags.',
        details: {flags: ['--stag'], suggestions: ['--stage']},
      },
    })
    // Two unknown flags, one near a real one: the suggestions line up with the flags.
    const two = await runCli(['list', '--bogus', '--stag', 'Production', '--json'])
    expect(two.code).toBe(2)
    expect(parseJson<{error: object}>(two.stdout).error).toMatchObject({
      message: 'Unknown flags --bogus, --stag',
      hint: '--stag: did you mean --stage? See morpho list --help for its flags.',
      details: {flags: ['--bogus', '--stag'], suggestions: [null, '--stage']},
    })
    const home = await tempDir()
    try {
      const param = await runCli(['sweep', '--param', 'hiden-dim=8,16', '--json', '--home', home.path])
      expect(param.code).toBe(2)
      expect(parseJson<{error: object}>(param.stdout).error).toMatchObject({
        code: 'USAGE',
        message: 'Unknown training flag "hiden-dim" in --param',
        hint: 'Did you mean hidden-dim? The flag names are those of morpho train --help.',
      })
    } finally {
      await home.cleanup()
    }
  })
})

describe('shell completion (built CLI)', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let home: string
  let runIds: string[]
  /** What `morpho __complete` answers for the words after `morpho` (the last one being typed). */
  const candidates = async (...words: string[]) => {
    const res = await runCli(['__complete', '--', ...words], {env: {MORPHO_HOME: home}})
    expect(res.code).toBe(0)
    return res.stdout === '' ? [] : res.stdout.trimEnd().split('\n')
  }

  beforeAll(async () => {
    tmp = await tempDir('morpho-complete-')
    home = join(tmp.path, 'store')
    runIds = [(await makeRun(home, {id: 'moons-20261129-140307-aaaaaa', problem: 'moons'})).id]
    runIds.push((await makeRun(home, {id: 'moons-20261130-090000-bbbbbb', problem: 'moons'})).id)
    for (const args of [
      ['register', runIds[0]!],
      ['register', runIds[1]!],
      ['alias', 'set', 'champion', '2'],
    ]) {
      expect((await runCli([...args, '--home', home])).code).toBe(0)
    }
  })
  afterAll(() => tmp.cleanup())

  it('offers commands, topics, subcommands and flags', async () => {
    expect(await candidates('pr')).toEqual(['predict', 'production', 'promote'])
    expect(await candidates('runs', '')).toEqual(['delete', 'list', 'show'])
    expect(await candidates('train', '--seed')).toEqual(['--seed', '--seeds-per-layer'])
    expect(await candidates('serve', '--no-')).toEqual(['--no-micro-batching', '--no-ui'])
    expect(await candidates('help', 'ali')).toEqual(['alias'])
  })

  it('offers the values of flags and arguments, from the store where they live there', async () => {
    expect(await candidates('train', '--problem', '')).toEqual([
      'spirals',
      'moons',
      'complex-moons',
      'clusters',
      'spheres',
    ])
    expect(await candidates('train', '--problem=sp')).toEqual(['spirals', 'spheres'])
    expect(await candidates('list', '--stage', '')).toEqual(['None', 'Staging', 'Production', 'Archived'])
    expect(await candidates('serve', '--stage', '')).toEqual(['Production', 'Staging'])
    expect(await candidates('promote', '')).toEqual(['Staging', 'Production', 'Archived'])
    expect(await candidates('serve', '--backend', '')).toEqual(['auto', 'tensorflow', 'wasm', 'cpu'])
    expect(await candidates('runs', 'show', '')).toEqual([...runIds].reverse())
    expect(await candidates('register', 'moons-2026113')).toEqual([runIds[1]])
    expect(await candidates('list', '--model', '')).toEqual(['moons'])
    expect(await candidates('promote', 'Production', '--version', '')).toEqual([
      '2',
      '1',
      'champion',
      'latest',
      'production',
      'staging',
    ])
    expect(await candidates('alias', 'delete', '')).toEqual(['champion'])
    expect(await candidates('best', '--metric', 'val')).toEqual(['val_acc', 'val_loss'])
    expect(await candidates('autocomplete', '')).toEqual(['bash', 'zsh'])
    // Files are the shell's to complete: nothing from morpho.
    expect(await candidates('train', '--data', '')).toEqual([])
  })

  it('works in bash, through the script `morpho autocomplete bash` prints', async () => {
    const script = await runCli(['autocomplete', 'bash'])
    expect(script.code).toBe(0)
    const json = parseJson<{shell: string; script: string}>((await runCli(['autocomplete', 'bash', '--json'])).stdout)
    expectShape('autocomplete', json)
    expect(json.script.trimEnd()).toBe(script.stdout.trimEnd())
    expectShape('__complete', parseJson((await runCli(['__complete', '--json', '--', 'pr'])).stdout))
    // `morpho` on PATH is the built CLI, as after an install.
    const bin = join(tmp.path, 'bin')
    await mkdir(bin, {recursive: true})
    await writeFile(join(bin, 'morpho'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    await chmod(join(bin, 'morpho'), 0o755)
    await writeFile(join(tmp.path, 'completion.bash'), script.stdout)
    // What bash does on Tab: COMP_LINE/COMP_POINT and its own split into COMP_WORDS.
    const tab = (line: string, words: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'bash',
          [
            '-c',
            `source "${join(tmp.path, 'completion.bash')}"
COMP_LINE=$1; COMP_POINT=\${#1}; COMP_WORDS=(\${@:2}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_morpho_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
            'tab',
            line,
            ...words,
          ],
          {env: {...process.env, PATH: `${bin}:${process.env.PATH}`, NODE_ENV: 'production', MORPHO_HOME: home}},
          (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trimEnd())),
        ),
      )
    expect(await tab('morpho pro', ['morpho', 'pro'])).toBe('production\npromote')
    expect(
      await tab('morpho promote Production --version ch', ['morpho', 'promote', 'Production', '--version', 'ch']),
    ).toBe('champion')
    // bash splits --problem=mo into three words and completes the last.
    expect(await tab('morpho train --problem=mo', ['morpho', 'train', '--problem', '=', 'mo'])).toBe('moons')
  })
})
