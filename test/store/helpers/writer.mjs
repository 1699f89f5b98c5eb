// A busy writer for the crash test: for each run named on the command line, registers it and
// promotes the new version to Production, through the built code against the store given
// first (a folder or a postgres:// URL), printing "<version>" after each promotion landed. The
// test kills it with SIGKILL at random moments.
import {parseStoreLocator} from '../../../dist/src/config.js'
import {promote, registerRun} from '../../../dist/src/registry/index.js'
import {openStore} from '../../../dist/src/store/open.js'

const [locator, ...runIds] = process.argv.slice(2)
const store = await openStore(parseStoreLocator(locator))
for (const runId of runIds) {
  const {version} = await registerRun(store, runId)
  await promote(store, {version, stage: 'Production'})
  process.stdout.write(`${version}\n`)
}
await store.close()
