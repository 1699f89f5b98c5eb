import {execFile} from 'node:child_process'

export interface ToolResult {
  code: number
  stdout: string
  stderr: string
}

const INSTALL_HINT: Record<string, string> = {
  promtool: 'apt-get install -y prometheus',
  prometheus: 'apt-get install -y prometheus',
  amtool: 'apt-get install -y prometheus-alertmanager',
  'prometheus-alertmanager': 'apt-get install -y prometheus-alertmanager',
}

/** Runs a command line tool; a missing tool fails with the package that provides it. */
export function runTool(
  command: string,
  args: string[],
  options: {input?: string; env?: Record<string, string | undefined>; cwd?: string} = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {env: {...process.env, ...options.env}, cwd: options.cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024},
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & {code?: number | string}) | null
        if (err?.code === 'ENOENT') {
          reject(new Error(`${command} is not installed: ${INSTALL_HINT[command] ?? 'install it'}`))
          return
        }
        resolve({code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr})
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
    else child.stdin?.end()
  })
}
