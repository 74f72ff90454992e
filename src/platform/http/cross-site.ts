import type { FastifyRequest } from 'fastify'
import type { Config } from '../config/config.ts'
import { AppError } from './errors.ts'

type OriginSettings = Pick<Config, 'host' | 'port' | 'corsOrigins'> & {
  jwt: Pick<Config['jwt'], 'issuer'>
  mail: Pick<Config['mail'], 'publicUrl'>
}

/** What a browser says of a request it sends on its own (Fetch Metadata): only `cross-site` is refused. */
const SAME_SITE_VALUES = new Set(['same-origin', 'same-site', 'none'])

/**
 * The origins whose pages may use the refresh cookie and form login: the service's own
 * (`JWT_ISSUER`'s when it is an http(s) URL, else `http://HOST:PORT` — and `http://localhost:PORT`
 * for a wildcard HOST, as mail links use), `PUBLIC_URL`'s and those in `CORS_ORIGINS`.
 */
export function trustedOrigins(config: OriginSettings): ReadonlySet<string> {
  const origins = new Set(config.corsOrigins)
  const issuer = httpOrigin(config.jwt.issuer)
  if (issuer !== undefined) {
    origins.add(issuer)
  } else {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host
    origins.add(new URL(`http://${host}:${config.port}`).origin)
    if (['0.0.0.0', '::', ''].includes(config.host)) origins.add(`http://localhost:${config.port}`)
  }
  const publicUrl = config.mail.publicUrl === undefined ? undefined : httpOrigin(config.mail.publicUrl)
  if (publicUrl !== undefined) origins.add(publicUrl)
  return origins
}

/** The origin of an http(s) URL; undefined for anything else (a `urn:` has the opaque origin "null"). */
function httpOrigin(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined
  const url = new URL(value)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined
}

/**
 * Why a browser's request must be treated as coming from another site, or undefined. Only browsers
 * send these headers (scripts cannot set them), so curl, servers and mobile apps are never refused.
 * `Origin: null` (sandboxed frames, `file:` pages, some redirects) is never trusted.
 */
export function crossSiteReason(request: FastifyRequest, trusted: ReadonlySet<string>): string | undefined {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && !SAME_SITE_VALUES.has(site.trim().toLowerCase())) {
    return 'the browser says it comes from another site (Sec-Fetch-Site)'
  }
  const origin = request.headers.origin
  if (origin !== undefined && !trusted.has(origin))
    return 'it comes from a page whose Origin is not trusted here'
  return undefined
}

export type CrossSiteGuard = (
  appliesTo: (request: FastifyRequest) => boolean,
) => (request: FastifyRequest) => Promise<void>

/**
 * CSRF protection for the requests a browser authenticates on its own (the contract's "Browser
 * requests"): a hook that answers `403 FORBIDDEN` when `appliesTo(request)` and the browser says
 * the request is cross-site. Declared on the route, never checked in a handler:
 *
 * ```ts
 * const refuseCrossSite = crossSiteGuard(ctx.config)
 * app.post('/auth/login', { onRequest: refuseCrossSite(sendsForm) }, handler)
 * ```
 */
export function crossSiteGuard(config: OriginSettings): CrossSiteGuard {
  const trusted = trustedOrigins(config)
  return (appliesTo) => async (request) => {
    if (!appliesTo(request)) return
    const reason = crossSiteReason(request, trusted)
    if (reason !== undefined) {
      throw new AppError(
        'FORBIDDEN',
        `Refused: ${reason}. The refresh cookie and form login work only from the service's own pages.`,
      )
    }
  }
}
