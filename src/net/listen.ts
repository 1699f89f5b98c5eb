import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {usageError} from '../errors.js'

/**
 * Starts an unstarted server on host:port (0 picks a free port) and says where it listens.
 * A port in use, a privileged port or a foreign address is the user's choice to correct, so
 * it becomes a usage error naming it (exit 2), for every server morpho starts.
 */
export async function listen(
  server: Server,
  options: {port: number; host: string; what: string; hint?: string},
): Promise<{port: number; origin: string}> {
  const {host} = options
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(listenError(err, options))
    server.once('error', fail)
    server.listen(options.port, host, () => {
      server.off('error', fail)
      resolve()
    })
  })
  const {port} = server.address() as AddressInfo
  return {port, origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`}
}

function listenError(
  err: NodeJS.ErrnoException,
  {host, port, what, hint}: {port: number; host: string; what: string; hint?: string},
): Error {
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is already in use',
    EACCES: 'the port needs privileges',
    EADDRNOTAVAIL: `${host} is not an address of this machine`,
  }
  if (!err.code || !why[err.code]) return err
  return usageError(`Cannot ${what} on ${host}:${port}: ${why[err.code]}`, {
    hint: hint ?? 'Choose another --port (0 picks a free one) or another --host.',
    details: {host, port, code: err.code},
    cause: err,
  })
}
