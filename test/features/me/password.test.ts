import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeJwt } from 'jose'
import { STRONG_PASSWORD, describeOnDatabases, type TestApp } from '../../support/harness.ts'
import { clientFor } from '../../support/client.ts'
import { NEW_PASSWORD, assertInvalidFields, auditTypes } from '../../support/mail.ts'

function changePassword(t: TestApp, accessToken: string, body: Record<string, unknown>) {
  return clientFor(t).as(accessToken).post('/me/password', body)
}

await describeOnDatabases('POST /me/password', (ctx) => {
  const api = clientFor(ctx)
  it('changes the password, ends every other session and keeps this one', async () => {
    const { email, user, tokens } = await api.loggedInUser()
    const other = (await api.login(email, STRONG_PASSWORD)).json()
    const third = (await api.login(email, STRONG_PASSWORD)).json()

    const response = await changePassword(ctx(), tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    })
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')

    assert.equal((await api.me(tokens.access_token)).statusCode, 200, 'this session stays')
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 200)
    for (const session of [other, third]) {
      assert.equal((await api.me(session.access_token)).statusCode, 401)
      assert.equal((await api.refresh(session.refresh_token)).statusCode, 401)
    }
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 401)
    assert.equal((await api.login(email, NEW_PASSWORD)).statusCode, 200)

    const types = await auditTypes(ctx(), user.id)
    assert.ok(types.includes('password_changed'))
    const ended = await ctx()
      .context.db.selectFrom('audit_events')
      .select('data')
      .where('user_id', '=', user.id)
      .where('type', '=', 'sessions_ended')
      .executeTakeFirstOrThrow()
    const data = JSON.parse(ended.data)
    assert.equal(data.reason, 'password_changed')
    assert.deepEqual(
      [...data.session_ids].sort(),
      [decodeJwt(other.access_token).sid, decodeJwt(third.access_token).sid].sort(),
    )
  })

  it('answers a wrong current password with 422 naming current_password, and changes nothing', async () => {
    const { email, user, tokens } = await api.loggedInUser()
    const other = (await api.login(email, STRONG_PASSWORD)).json()
    const response = await changePassword(ctx(), tokens.access_token, {
      current_password: 'not my password at all',
      new_password: NEW_PASSWORD,
    })
    assertInvalidFields(response, ['current_password'])
    assert.equal((await api.me(other.access_token)).statusCode, 200, 'no session ended')
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
    assert.ok((await auditTypes(ctx(), user.id)).includes('password_change_failed'))
  })

  it('ends the session that guessed 5 wrong current passwords in a row, and audits it', async () => {
    const { email, user, tokens } = await api.loggedInUser()
    const other = (await api.login(email, STRONG_PASSWORD)).json()
    const guess = (i: number) =>
      changePassword(ctx(), tokens.access_token, {
        current_password: `guess number ${i}`,
        new_password: NEW_PASSWORD,
      })
    for (let i = 0; i < 4; i++) {
      assertInvalidFields(await guess(i), ['current_password'])
      assert.equal((await api.me(tokens.access_token)).statusCode, 200)
    }
    assertInvalidFields(await guess(4), ['current_password'])
    assert.equal((await api.me(tokens.access_token)).statusCode, 401, 'the guessing session is over')
    assert.equal((await api.refresh(tokens.refresh_token)).statusCode, 401)
    assert.equal((await guess(5)).statusCode, 401)
    assert.equal((await api.me(other.access_token)).statusCode, 200, 'the other session stays')
    const ended = await ctx()
      .context.db.selectFrom('audit_events')
      .select('data')
      .where('user_id', '=', user.id)
      .where('type', '=', 'sessions_ended')
      .executeTakeFirstOrThrow()
    assert.deepEqual(JSON.parse(ended.data), {
      reason: 'password_guessing',
      session_ids: [decodeJwt(tokens.access_token).sid],
    })
  })

  it('counts wrong current passwords as failed logins, and checks nothing while the account is blocked', async () => {
    const { email, user, tokens } = await api.loggedInUser()
    for (let i = 0; i < 4; i++) {
      const response = await changePassword(ctx(), tokens.access_token, {
        current_password: `guess number ${i}`,
        new_password: NEW_PASSWORD,
      })
      assertInvalidFields(response, ['current_password'])
    }
    assert.equal((await api.login(email, 'one more guess')).statusCode, 401)
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 429, 'the 5th failure blocks')
    const failuresBefore = (await auditTypes(ctx(), user.id)).filter((t) => t === 'password_change_failed')
    const blocked = await changePassword(ctx(), tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    })
    assert.equal(blocked.statusCode, 429)
    assert.ok(Number(blocked.headers['retry-after']) >= 1)
    const failuresAfter = (await auditTypes(ctx(), user.id)).filter((t) => t === 'password_change_failed')
    assert.equal(failuresAfter.length, failuresBefore.length)
    ctx().clock.advance(1)
    const changed = await changePassword(ctx(), tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    })
    assert.equal(changed.statusCode, 204)
  })

  it('holds the new password to the policy, and reports every problem at once', async () => {
    const { email, tokens } = await api.loggedInUser()
    for (const weak of ['short', 'password123', email, 'x'.repeat(129)]) {
      const response = await changePassword(ctx(), tokens.access_token, {
        current_password: STRONG_PASSWORD,
        new_password: weak,
      })
      assertInvalidFields(response, ['new_password'])
    }
    const both = await changePassword(ctx(), tokens.access_token, {
      current_password: 'wrong guess here',
      new_password: 'short',
    })
    assertInvalidFields(both, ['current_password', 'new_password'])
    assert.equal((await api.login(email, STRONG_PASSWORD)).statusCode, 200)
  })

  it('voids the reset links mailed before the change', async () => {
    const { email, user, tokens } = await api.loggedInUser()
    assert.equal((await api.forgotPassword(email)).statusCode, 202)
    const unused = () =>
      ctx()
        .context.db.selectFrom('one_time_tokens')
        .select('id')
        .where('user_id', '=', user.id)
        .where('used_at', 'is', null)
        .execute()
    assert.equal((await unused()).length, 1)
    await changePassword(ctx(), tokens.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: NEW_PASSWORD,
    })
    assert.deepEqual(await unused(), [])
  })

  it('needs a bearer token and a well-formed body', async () => {
    const anonymous = await ctx().app.inject({
      method: 'POST',
      url: '/me/password',
      payload: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
    })
    assert.equal(anonymous.statusCode, 401)
    assert.equal(anonymous.json().error.code, 'AUTH_REQUIRED')
    const { tokens } = await api.loggedInUser()
    assertInvalidFields(await changePassword(ctx(), tokens.access_token, {}), [
      'current_password',
      'new_password',
    ])
    assertInvalidFields(
      await changePassword(ctx(), tokens.access_token, { current_password: 1, new_password: NEW_PASSWORD }),
      ['current_password'],
    )
  })

  it('never logs the passwords', () => {
    const text = ctx().logs.text()
    for (const secret of [STRONG_PASSWORD, NEW_PASSWORD, 'not my password at all']) {
      assert.ok(!text.includes(secret), secret)
    }
  })
})

await describeOnDatabases(
  'POST /me/password budget (LOGIN_RATE_LIMIT=3)',
  (ctx) => {
    const api = clientFor(ctx)
    it('allows 3 password checks a minute per user, from whatever address', async () => {
      const { tokens } = await api.loggedInUser()
      const attempt = (remoteAddress: string) =>
        api
          .as(tokens.access_token)
          .post(
            '/me/password',
            { current_password: 'a wrong guess', new_password: NEW_PASSWORD },
            { remoteAddress },
          )
      for (let i = 0; i < 3; i++) assertInvalidFields(await attempt(`198.51.${i}.1`), ['current_password'])
      const limited = await attempt('198.51.9.1')
      assert.equal(limited.statusCode, 429)
      assert.equal(limited.json().error.code, 'RATE_LIMITED')
      assert.equal(limited.headers['retry-after'], '20')
    })
  },
  { env: { LOGIN_RATE_LIMIT: '3' } },
)
