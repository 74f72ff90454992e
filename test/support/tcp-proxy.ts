import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP forwarder we can pull the plug on, to play an outage of a real server (PostgreSQL, Redis)
 * while the code under test keeps its configured address.
 *
 * ```ts
 * const proxy = await startTcpProxy(6379, '127.0.0.1')
 * // point the service at 127.0.0.1:proxy.port …
 * await proxy.close() // refuses new connections and cuts the open ones
 * await proxy.reopen() // listens again on the same port
 * ```
 */
export interface TcpProxy {
  readonly port: number
  /** Stops listening and destroys every open connection, both sides. Idempotent. */
  close(): Promise<void>
  /** Listens again on the same port after `close()`. */
  reopen(): Promise<void>
}

export async function startTcpProxy(targetPort: number, targetHost: string): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost)
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => {
        sockets.delete(socket)
        peer.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy did not bind')
  const port = address.port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        if (!server.listening) {
          resolve()
          return
        }
        server.close(() => resolve())
      }),
    reopen: () => listen(port),
  }
}
