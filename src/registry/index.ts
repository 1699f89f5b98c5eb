/**
 * The model registry's rules, written once over the store interface (src/store/store.ts):
 * register, stages (promote, rollback), aliases and the queries. Commands, the trainer and
 * the server all go through these functions, with a folder store or a database store.
 */

export {type AliasResult, deleteAlias, setAlias} from './aliases.js'
export {type AutoRegisterOptions, type AutoRegisterResult, autoRegister} from './auto.js'
export {type DeleteVersionResult, deleteVersion} from './delete.js'
export {DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS, type LockSettings, lockSettings, withLock} from './lock.js'
export {
  MANIFEST_FILE,
  type Manifest,
  type ManifestFile,
  sha256,
  verifyFiles,
  verifyVersion,
  withManifest,
} from './manifest.js'
export * from './queries.js'
export {type RegisterOptions, type RegisterResult, registerRun} from './register.js'
export * from './schema.js'
export {
  assertAlias,
  findVersion,
  modelNameFor,
  parseStage,
  parseTags,
  parseVersionRef,
  pickModel,
  resolveVersion,
  selectModel,
  stageHolder,
  type VersionRef,
} from './select.js'
export * from './stages.js'
export {DEFAULT_REGISTER_AT, DEFAULT_STAGE_AT} from './thresholds.js'
export {fmt} from './tx.js'
