import { isIPv4, isIPv6 } from 'node:net'

/**
 * The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 part turned
 * into two groups, a `%zone` dropped), or undefined for anything that is not one.
 */
function ipv6Groups(address: string): number[] | undefined {
  const bare = address.replace(/%.*$/, '')
  if (!isIPv6(bare)) return undefined
  let text = bare.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right]
}

/** `::ffff:a.b.c.d` (in any spelling) is the IPv4 client a.b.c.d reaching a dual-stack socket. */
function mappedIpv4(groups: number[]): string | undefined {
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff
  if (!mapped) return undefined
  const [high = 0, low = 0] = groups.slice(6)
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
}

const slash64 = (groups: number[]) =>
  `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`

/**
 * The key per-address budgets count on: an IPv4 address as it is, an IPv6 address by its /64 (one
 * subscriber gets a whole /64 and can use any of its 2^64 addresses), an IPv4-mapped IPv6 address
 * as the IPv4 address it maps.
 */
export function clientAddressKey(address: string): string {
  if (isIPv4(address)) return address
  const groups = ipv6Groups(address)
  if (!groups) return address
  return mappedIpv4(groups) ?? slash64(groups)
}

/**
 * The network an address belongs to, for the per-account throttle and the places an account
 * logged in from: an IPv4 /24 (a home's address changes within it more often than out of it), an
 * IPv6 /64. An origin without an address (the CLI) is a network of its own.
 */
export function networkPrefix(address: string | null): string {
  if (address === null) return 'none'
  const ipv4 = isIPv4(address) ? address : clientAddressKey(address)
  if (!isIPv4(ipv4)) return ipv4
  return `${ipv4.split('.').slice(0, 3).join('.')}.0/24`
}
