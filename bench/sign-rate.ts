/**
 * The raw RS256 signing rate the token-issuing figures are compared with: jose's `SignJWT` alone,
 * with a 2048-bit key made as the server makes its own (`generateKeyPair`) and the claims of a
 * client-credentials token, in a process pinned to the server core. jose signs through WebCrypto,
 * which runs on libuv's thread pool, so it is measured with 1 and with 4 signatures in flight, as
 * argon2-rate.ts measures the pool; the bench takes the best as the reference.
 * Prints one JSON array of `{ how, opsPerSecond }`.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'

const seconds = Number(process.argv[2] ?? '4')
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
const kid = await calculateJwkThumbprint(await exportJWK(publicKey))

function sign(): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ scope: 'introspect', client_id: 'client_0123456789abcdefghijkl' })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
    .setIssuer('http://127.0.0.1:3000')
    .setAudience('gatehouse')
    .setSubject('client_0123456789abcdefghijkl')
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .setJti(randomUUID())
    .sign(privateKey)
}

async function rate(inFlight: number, ms: number): Promise<number> {
  const began = performance.now()
  let done = 0
  const worker = async () => {
    while (performance.now() - began < ms) {
      await sign()
      done += 1
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return (done * 1000) / (performance.now() - began)
}

await rate(4, 300) // warm-up
const each = (seconds * 1000) / 2
const results = [
  { how: 'jose SignJWT, 1 in flight', opsPerSecond: await rate(1, each) },
  { how: 'jose SignJWT, 4 in flight', opsPerSecond: await rate(4, each) },
]
process.stdout.write(`${JSON.stringify(results)}\n`)
