import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {COMMAND_SHAPES} from '../../src/contract/catalog.js'
import {ROOT} from '../helpers/cli.js'

describe('the built CLI and the JSON shape catalog', () => {
  it('has a shape for every command in the oclif manifest, and none for a command that is not there', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'dist', 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    const built = Object.keys(manifest.commands)
      .map((id) => id.split(':').join(' '))
      .sort()
    expect(built.length).toBeGreaterThan(20)
    expect(COMMAND_SHAPES.map((e) => e.name).sort()).toEqual(built)
  })
})
