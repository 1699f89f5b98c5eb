import {describe, expect, it} from 'vitest'
import {matchRoute} from '../../src/net/routes.js'

describe('matchRoute: the route a request target names', () => {
  it('gives the handler the placeholders, percent-decoded', () => {
    expect(matchRoute('/v2/models/my%20model/versions/7/infer')).toEqual({
      template: '/v2/models/{name}/versions/{version}/infer',
      params: {name: 'my model', version: '7'},
    })
    expect(matchRoute('/v2/models/bad%zz')).toEqual({template: '/v2/models/{name}', params: {name: 'bad%zz'}})
    expect(matchRoute('/nope')).toBeUndefined()
  })
})
