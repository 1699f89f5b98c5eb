import type {RegistryDocument} from '../../src/registry/schema.js'

export function cloneVersions(
  doc: RegistryDocument,
  name: string,
  count: number,
  options?: {withoutValAccEvery?: number},
): void
