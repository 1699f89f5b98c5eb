// A writer for the crash test: registers the runs named on the command line one after the
// other through the built registry code, and prints "<run-id> <version>" once each write has
// landed. The test kills it with SIGKILL part-way through.
import {registerRun} from '../../../dist/src/registry/index.js'
import {FolderStore} from '../../../dist/src/store/folder/folder-store.js'

const [home, ...runIds] = process.argv.slice(2)
const paths = new FolderStore(home)
for (const runId of runIds) {
  const {version} = await registerRun(paths, runId)
  process.stdout.write(`${runId} ${version}\n`)
}
