/**
 * The model registry: registry.json (lowdb, schema-versioned, written under an inter-process
 * lock by temp file + fsync + rename) and models/<name>/<version>/ (immutable copies with a
 * sha256 manifest). Commands, the trainer and the server all go through these functions.
 */
export {type AutoRegisterOptions, type AutoRegisterResult, autoRegister} from './auto.js'
export {DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS, type LockSettings, lockSettings, withLock} from './lock.js'
export {
  copyModelFiles,
  MANIFEST_FILE,
  type Manifest,
  type ManifestFile,
  sha256,
  verifyVersion,
  writeManifest,
} from './manifest.js'
export * from './registry.js'
export * from './schema.js'
export {
  assertAlias,
  findVersion,
  modelNameFor,
  parseStage,
  parseTags,
  parseVersionRef,
  resolveVersion,
  selectModel,
  stageHolder,
  type VersionRef,
} from './select.js'
export {openRegistry, parseRegistry, RegistryFile, readRegistry, serializeRegistry} from './store.js'
export {DEFAULT_REGISTER_AT, DEFAULT_STAGE_AT} from './thresholds.js'
