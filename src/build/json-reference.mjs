// Writes the README's JSON reference (between <!-- json --> and <!-- jsonstop -->) from
// src/contract/catalog.ts, the shapes the tests check the output against. Part of `npm run
// readme`; CI's readme:check fails when the README is not what this writes.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {API_SHAPES, COMMAND_SHAPES, ErrorBody} from '../contract/catalog.ts'
import {formatShape, namedShapes} from '../contract/shape.ts'

const README = join(import.meta.dirname, '..', '..', 'README.md')
const START = '<!-- json -->'
const STOP = '<!-- jsonstop -->'

function block(entries, prefix) {
  return entries
    .map((e) => {
      const note = e.note ? `// ${e.note}\n` : ''
      return `${note}${prefix}${e.name}\n  ${formatShape(e.shape, 98, '  ')}`
    })
    .join('\n\n')
}

const types = namedShapes([ErrorBody, ...[...COMMAND_SHAPES, ...API_SHAPES].map((e) => e.shape)])
  .map(({name, shape}) => `${name} = ${formatShape(shape, 98)}`)
  .join('\n\n')

const section = `${START}
Generated from \`src/contract/catalog.ts\` by \`npm run readme\`; the tests check the built CLI's
output and the server's answers against the same shapes. \`?\` marks a key that may be absent,
\`[name]: T\` keys that are data (metric names, tags), \`time\` an ISO 8601 UTC time.

Commands (\`--json\`, on success; a failure is \`{"error": Error}\` with the exit code):

\`\`\`ts
${block(COMMAND_SHAPES, 'morpho ')}
\`\`\`

The page's endpoints (errors: see [Errors](#errors)):

\`\`\`ts
${block(API_SHAPES, '')}
\`\`\`

Types:

\`\`\`ts
${types}
\`\`\`
${STOP}`

const text = readFileSync(README, 'utf8')
const from = text.indexOf(START)
const to = text.indexOf(STOP)
if (from < 0 || to < from) throw new Error(`README.md has no ${START} … ${STOP} section`)
writeFileSync(README, text.slice(0, from) + section + text.slice(to + STOP.length))
