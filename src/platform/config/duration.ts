const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const

/**
 * Parses a duration as the contract writes it: whole seconds (`900`) or a whole number with a
 * unit (`15m`, `7d`). Returns seconds, or `undefined` when the text is not such a duration.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim())
  if (!match) return undefined
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_SECONDS | '']
  return Number(amount) * (unit === '' ? 1 : UNIT_SECONDS[unit])
}
