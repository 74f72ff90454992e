import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { allowedScopes, grantScopes, isKnownRole, narrowScopes } from '../../../src/identity/tokens/scopes.ts'
import { DEFAULT_ROLE_SCOPES } from '../../../src/platform/config/config.ts'

const INHERITED = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf']

describe('role scopes', () => {
  it('knows no role named after what every object inherits', () => {
    for (const role of INHERITED) assert.equal(isKnownRole(DEFAULT_ROLE_SCOPES, role), false, role)
    assert.equal(isKnownRole(DEFAULT_ROLE_SCOPES, 'admin'), true)
  })

  it('grants no scope for an inherited name, alone or beside real roles', () => {
    assert.deepEqual(allowedScopes(DEFAULT_ROLE_SCOPES, INHERITED), [])
    assert.equal(grantScopes(DEFAULT_ROLE_SCOPES, INHERITED, undefined), '')
    assert.equal(
      grantScopes(DEFAULT_ROLE_SCOPES, ['user', ...INHERITED], undefined),
      'profile todos:read todos:write',
    )
    assert.equal(narrowScopes(DEFAULT_ROLE_SCOPES, INHERITED, 'profile admin'), '')
  })
})
