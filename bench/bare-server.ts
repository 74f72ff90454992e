/**
 * The calibration server: bare `node:http`, answering `GET /health` as Gatehouse does. Its rate on
 * the server core says how fast this machine is right now (PERFORMANCE.md measured 91 800 req/s on
 * a quiet one), so absolute figures can be read against the references. Prints its URL.
 */
import { createServer } from 'node:http'

const body = JSON.stringify({ status: 'ok' })
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body)
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  process.stdout.write(`http://127.0.0.1:${address.port}\n`)
})
process.on('SIGTERM', () => server.close())
