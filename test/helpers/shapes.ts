import {expect} from 'vitest'
import {shapeOf} from '../../src/contract/catalog.js'
import {check} from '../../src/contract/shape.js'

/**
 * Asserts that `value` is exactly the JSON the catalog (src/contract/catalog.ts, the source of
 * the README's JSON reference) gives for `name`: every key, no other key, every type.
 */
export function expectShape(name: string, value: unknown): void {
  expect(check(shapeOf(name), value), `${name} does not match src/contract/catalog.ts`).toEqual([])
}
