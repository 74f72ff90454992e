import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/platform/config/config.ts'

/** The problems `loadConfig` names for `env`; fails the test when it accepts it. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return [...error.problems]
  }
  assert.fail('expected a ConfigError')
}
