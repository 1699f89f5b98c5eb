'use strict'
// Runs morpho from a bundle (src/build/bundle.mjs, and the single executable): oclif is handed
// the command map instead of importing its explicit target, and the hooks as functions instead
// of files to import; it finds and describes commands from the manifest in its root folder.

/**
 * @param {object} options
 * @param {string} options.root  oclif's root: the folder of the manifest (none: built from the commands)
 * @param {{oclif: {hooks?: Record<string, string | string[]>}}} options.pjson  morpho's package.json
 * @param {object} options.commands  id → command class (getters, so only the one that runs loads)
 * @param {Record<string, () => Function>} options.hooks  event → the hook function (loaded when it fires)
 * @param {object} [options.loadOptions]  more of oclif's load options
 */
function launch({root, pjson, commands, hooks, loadOptions = {}}) {
  // oclif checks the running Node against its own engines (>=18) with semver, a tenth of the
  // start-up; package.json asks for a newer one (npm checks that at install).
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const {Config, execute, Plugin} = require('@oclif/core')
  // loadCommandsFromTarget is oclif-internal (hence @oclif/core is pinned exactly).
  const fromTarget = Plugin.prototype.loadCommandsFromTarget
  Plugin.prototype.loadCommandsFromTarget = async function () {
    return this.isRoot ? commands : fromTarget.call(this)
  }
  const runHook = Config.prototype.runHook
  Config.prototype.runHook = async function (event, opts, ...rest) {
    if (!Object.hasOwn(hooks, event)) return runHook.call(this, event, opts, ...rest)
    const plugin = this.rootPlugin
    try {
      return {successes: [{plugin, result: await hooks[event]()({...opts, config: this})}], failures: []}
    } catch (error) {
      return {successes: [], failures: [{plugin, error}]}
    }
  }
  const oclif = {...pjson.oclif, hooks: {}}
  return execute({loadOptions: {root, pjson: {...pjson, oclif}, userPlugins: false, ...loadOptions}})
}

module.exports = {launch}
