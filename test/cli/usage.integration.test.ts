import {describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/** How the built CLI writes what people read: usage lines, argument names, measured numbers. */

describe('usage lines and numbers (built CLI)', () => {
  it('writes a well-formed USAGE for every command, and calls a run id RUN-ID everywhere', async () => {
    const {commands} = parseJson<{commands: {command: string}[]}>((await runCli(['help', '--json'])).stdout)
    expect(commands.length).toBeGreaterThan(20)
    const usage: Record<string, string[]> = {}
    // A few at a time: each is a process of its own.
    for (let i = 0; i < commands.length; i += 4) {
      await Promise.all(
        commands.slice(i, i + 4).map(async ({command}) => {
          // Wide enough that no usage line wraps (sweep's, with every training flag, is over 1,000).
          const res = await runCli([...command.split(' '), '--help'], {env: {OCLIF_COLUMNS: '10000'}})
          expect(res.code, command).toBe(0)
          const block = /^USAGE\n((?: {2}\$ .*\n)+)/m.exec(res.stdout)
          expect(block, `${command}: ${res.stdout.slice(0, 300)}`).not.toBeNull()
          usage[command] = block![1]!
            .trimEnd()
            .split('\n')
            .map((l) => l.trim())
        }),
      )
    }
    for (const [command, lines] of Object.entries(usage)) {
      for (const line of lines) {
        // (help's own line is "$ morpho [COMMAND]")
        expect(line.startsWith(command === 'help' ? '$ morpho ' : `$ morpho ${command}`), line).toBe(true)
        // No empty alternatives ("| |", "| ]", "[ |") and brackets that close.
        expect(line, command).not.toMatch(/\|\s*\||\|\s*\]|\[\s*\|/)
        let depth = 0
        for (const c of line) {
          depth += c === '[' ? 1 : c === ']' ? -1 : 0
          expect(depth, line).toBeGreaterThanOrEqual(0)
        }
        expect(depth, line).toBe(0)
        expect(line, command).not.toMatch(/RUNID|RUN_ID/)
      }
    }
    expect(usage.predict).toEqual([
      '$ morpho predict [--data <value> | --file <value>] [--model <value>] [--version <value> | --stage Production|Staging] [--json] [--store <value>] [--home <value>]',
      '$ morpho predict --url <value> [--data <value> | --file <value>] [--version <value>] [--timeout <value>] [--json]',
      '$ morpho predict --model-file <value> [--data <value> | --file <value>] [--json]',
    ])
    for (const command of ['register', 'runs show', 'runs delete']) expect(usage[command]![0]).toMatch(/ RUN-ID\b/)
  })

  it('prints a perfect score as measured, 1.0000 beside 0.9850, in tables that fit the terminal', async () => {
    const home = await tempDir()
    try {
      const perfect = await makeRun(home.path, {valAcc: 1, id: 'spirals-20261201-141503-a3f9c1'})
      const good = await makeRun(home.path, {valAcc: 0.985, id: 'spirals-20261201-141504-b4e0d2'})
      for (const run of [perfect, good]) expect((await runCli(['register', run.id, '--home', home.path])).code).toBe(0)
      const list = await runCli(['list', '--home', home.path])
      expect(list.code, list.stderr).toBe(0)
      expect(list.stdout).toMatch(/^v1 {7}None {3}- {8}1\.0000 {3}/m)
      expect(list.stdout).toMatch(/^v2 {7}None {3}- {8}0\.9850 {3}/m)
      // A narrow terminal: every line fits, cut cells end in "…", the version and run id stay whole.
      const narrow = await runCli(['list', '--home', home.path], {env: {COLUMNS: '84'}})
      const lines = narrow.stdout.trimEnd().split('\n')
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(84)
      expect(lines[2]).toMatch(new RegExp(`^v1 +None +- +1\\.0000 +${perfect.id}  \\d{4}-\\d\\d-[\\d :]*…$`))
      expect(lines[2]).toHaveLength(84)
      const history = await runCli(['history', '--home', home.path], {env: {COLUMNS: '80'}})
      for (const line of history.stdout.trimEnd().split('\n')) expect(line.length, line).toBeLessThanOrEqual(80)
      expect(history.stdout).toMatch(/…$/m)

      const best = await runCli(['best', '--home', home.path])
      expect(best.stdout).toMatch(/^best spirals v1: val_acc 1\.0000 \(highest\)$/m)
    } finally {
      await home.cleanup()
    }
  })

  it('shows a run as a summary by default, every parameter with --params and every epoch with --epochs', async () => {
    const home = await tempDir()
    try {
      const run = await makeRun(home.path, {id: 'spirals-20261201-141503-a3f9c1'})
      const short = await runCli(['runs', 'show', 'latest', '--home', home.path])
      expect(short.code, short.stderr).toBe(0)
      // Set away from the defaults: the fixture's network; --problem spirals is the default.
      expect(short.stdout).toMatch(/^Parameters \(1 more at their defaults: --params\)$/m)
      expect(short.stdout).toMatch(/^--hidden-dim {7}8$/m)
      expect(short.stdout).not.toMatch(/^--problem /m)
      expect(short.stdout).toMatch(/^Epochs \(2 of 4: --epochs for each\)$/m)
      expect(short.stdout.match(/^\d+( saved)? +(warm_up|adaptation) /gm)).toEqual([
        '1        warm_up ',
        '4 saved  adaptation ',
      ])

      const full = await runCli(['runs', 'show', run.id, '--params', '--epochs', '--home', home.path])
      expect(full.stdout).toMatch(/^Parameters$/m)
      expect(full.stdout).toMatch(/^--problem +spirals$/m)
      expect(full.stdout).toMatch(/^Epochs$/m)
      expect(full.stdout.match(/^\d+( saved)? +(warm_up|adaptation) /gm)).toHaveLength(4)
    } finally {
      await home.cleanup()
    }
  })

  it("names predict's class columns by their labels", async () => {
    const home = await tempDir()
    try {
      const run = await makeRun(home.path)
      expect((await runCli(['register', run.id, '--home', home.path])).code).toBe(0)
      expect((await runCli(['promote', 'Production', '--version', '1', '--home', home.path])).code).toBe(0)
      const res = await runCli(['predict', '--data', '[[0.5, -1.2]]', '--home', home.path])
      expect(res.code, res.stderr).toBe(0)
      expect(res.stdout).toMatch(/^ROW {2}PREDICTION {2}P\(0\) {4}P\(1\)$/m)
      expect(res.stdout).toMatch(/^0 {4}[01] {11}\d\.\d{4} {2}\d\.\d{4}$/m)
    } finally {
      await home.cleanup()
    }
  })
})
