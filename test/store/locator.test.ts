import {describe, expect, it} from 'vitest'
import {resolveStore} from '../../src/config.js'

describe('which store a command uses', () => {
  const cwd = '/work/here'

  it('is ./.morpho by default, --home or MORPHO_HOME as before', () => {
    expect(resolveStore({}, {}, cwd)).toEqual({kind: 'folder', home: '/work/here/.morpho'})
    expect(resolveStore({home: 'store'}, {}, cwd)).toEqual({kind: 'folder', home: '/work/here/store'})
    expect(resolveStore({}, {MORPHO_HOME: '/srv/m'}, cwd)).toEqual({kind: 'folder', home: '/srv/m'})
  })

  it('takes a folder or a postgres:// URL from --store or MORPHO_STORE; flags win over the environment', () => {
    const url = 'postgres://ci@db.internal:5432/morpho?sslmode=require'
    expect(resolveStore({store: url}, {}, cwd)).toEqual({kind: 'postgres', url})
    expect(resolveStore({}, {MORPHO_STORE: 'postgresql://u@h/db'}, cwd)).toEqual({
      kind: 'postgres',
      url: 'postgresql://u@h/db',
    })
    expect(resolveStore({store: 'rel'}, {}, cwd)).toEqual({kind: 'folder', home: '/work/here/rel'})
    expect(resolveStore({}, {MORPHO_STORE: url, MORPHO_HOME: '/srv/m'}, cwd)).toEqual({kind: 'postgres', url})
    expect(resolveStore({home: 'h'}, {MORPHO_STORE: url}, cwd)).toEqual({kind: 'folder', home: '/work/here/h'})
  })

  it('refuses --store with --home, an empty value and a scheme it does not know', () => {
    expect(() => resolveStore({store: 'a', home: 'b'}, {}, cwd)).toThrow(/--store and --home both name the store/)
    expect(() => resolveStore({store: ' '}, {}, cwd)).toThrow(/--store is empty/)
    expect(() => resolveStore({}, {MORPHO_STORE: 'mysql://x@y/z'}, cwd)).toThrow(
      expect.objectContaining({code: 'USAGE', message: 'MORPHO_STORE: unsupported store "mysql://…"'}),
    )
  })
})
