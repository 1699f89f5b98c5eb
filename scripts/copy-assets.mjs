// Copies the web page's files (src/ui/assets) next to the compiled handler (dist/src/ui/assets),
// which serves them from its own folder: the published package ships dist, not src.
// The charting library is not copied: it is a dependency, resolved from node_modules at run time.
import {cp, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const from = join(root, 'src', 'ui', 'assets')
const to = join(root, 'dist', 'src', 'ui', 'assets')

// Start clean, so a file deleted from the sources is not served from a stale build.
await rm(to, {recursive: true, force: true})
await cp(from, to, {recursive: true})
