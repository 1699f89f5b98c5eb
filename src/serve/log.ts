/**
 * What the server says while it runs: one line per lifecycle event (listening, model loaded,
 * reloaded, reload failed, stopping), and with request logging one JSON object per request.
 * Everything goes to stderr, so stdout stays free for a command's --json result.
 */

export interface RequestLogLine {
  time: string
  method: string
  path: string
  /** The route template, or "unmatched". */
  route: string
  status: number
  ms: number
  rows?: number
  model_version?: string
  error?: string
}

export interface ServeLogger {
  info(message: string): void
  warn(message: string): void
  /** Present only when request logging is on, so the request path can skip building the line. */
  request?: (line: RequestLogLine) => void
}

export function createLogger(options: {requests?: boolean; write?: (line: string) => void} = {}): ServeLogger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const stamp = (level: string, message: string) => write(`${new Date().toISOString()} ${level} ${message}`)
  return {
    info: (message) => stamp('info', message),
    warn: (message) => stamp('warn', message),
    request: options.requests ? (line) => write(JSON.stringify(line)) : undefined,
  }
}

/** A logger that keeps its lines, for tests and for embedding. */
export function memoryLogger(): ServeLogger & {lines: string[]; requests: RequestLogLine[]} {
  const lines: string[] = []
  const requests: RequestLogLine[] = []
  return {
    lines,
    requests,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    request: (line) => requests.push(line),
  }
}
