import { it } from 'node:test'
import { assertInvalidFields } from '../../support/mail.ts'
import { STRONG_PASSWORD, describeOnDatabases, uniqueEmail } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'

/*
 * A 422 lists one `details` entry per invalid field: the password policy is checked with the
 * schema, not only after it passed, so a client learns of every problem at once.
 */

await describeOnDatabases('POST /auth/signup', (ctx) => {
  const api = clientFor(ctx)

  it('names both email and password for {"email": "nope", "password": "short"}', async () => {
    assertInvalidFields(await api.signup({ email: 'nope', password: 'short' }), ['email', 'password'])
  })

  it('names a common password beside a malformed username and full name', async () => {
    assertInvalidFields(
      await api.signup({
        email: uniqueEmail(),
        password: 'password123',
        username: 'a b',
        full_name: '\u0007',
      }),
      ['password', 'username', 'full_name'],
    )
  })

  it('names a password over 128 characters (after NFKC) beside a malformed email', async () => {
    assertInvalidFields(await api.signup({ email: 'a@b', password: 'x'.repeat(129) }), ['email', 'password'])
  })
})

await describeOnDatabases('POST /auth/password/reset', (ctx) => {
  it('names both token and new_password when both are invalid', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: 'x'.repeat(300), new_password: 'short' },
    })
    assertInvalidFields(response, ['token', 'new_password'])
  })
})

await describeOnDatabases('POST /me/password', (ctx) => {
  const api = clientFor(ctx)
  it('names both current_password and new_password, whether the current one is empty or wrong', async () => {
    const { tokens } = await api.loggedInUser()
    for (const current of ['', 'not it at all']) {
      const response = await api
        .as(tokens.access_token)
        .post('/me/password', { current_password: current, new_password: 'short' })
      assertInvalidFields(response, ['current_password', 'new_password'])
    }
    const valid = await api
      .as(tokens.access_token)
      .post('/me/password', { current_password: STRONG_PASSWORD, new_password: 'short' })
    assertInvalidFields(valid, ['new_password'])
  })
})
