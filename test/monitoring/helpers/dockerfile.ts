import {readFileSync} from 'node:fs'

export interface Instruction {
  keyword: string
  args: string
  stage: string
}

/** Instructions of a Dockerfile, continuation lines joined, each with the name of its stage. */
export function parseDockerfile(path: string): Instruction[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const out: Instruction[] = []
  let stage = ''
  let current = ''
  for (const raw of lines) {
    const line = raw.trim()
    if (current === '' && (line === '' || line.startsWith('#'))) continue
    if (line.startsWith('#')) continue
    current += ` ${line.replace(/\\$/, '')}`
    if (line.endsWith('\\')) continue
    const text = current.trim()
    current = ''
    const space = text.indexOf(' ')
    const keyword = text.slice(0, space).toUpperCase()
    const args = text.slice(space + 1).trim()
    if (keyword === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? ''
    out.push({keyword, args, stage})
  }
  return out
}

/** The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK ... CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['))
  return JSON.parse(json) as string[]
}
