import assert from 'node:assert/strict'
import type { KyselyPlugin } from 'kysely'
import { deliverDueMail } from '../../src/platform/mail/outbox.ts'
import type { TestApp } from './harness.ts'
import { tokenFromMail, type TestSmtpServer } from './smtp.ts'

export const RESET_PATH = '/reset-password'
export const VERIFY_PATH = '/verify-email'
export const NEW_PASSWORD = 'a brand new passphrase 42'

/** Runs the delivery the background worker would run, now. */
export function deliver(t: TestApp) {
  return deliverDueMail(t.context)
}

/**
 * Delivers what is queued — exactly one mail, which must reach `email` over SMTP (the server has it
 * once the transport resolves: it answers 250 after storing it) — and returns the token of its link
 * to `path`.
 */
export async function deliverAndReadToken(
  t: TestApp,
  smtp: TestSmtpServer,
  email: string,
  path: string,
): Promise<string> {
  const before = smtp.to(email).length
  assert.equal((await deliver(t)).sent, 1)
  const mails = smtp.to(email)
  assert.equal(mails.length, before + 1)
  return tokenFromMail(mails.at(-1)!, path)
}

/** A 422 VALIDATION_ERROR whose details name exactly `fields`. */
export function assertInvalidFields(
  response: { statusCode: number; json: () => unknown },
  fields: string[],
): void {
  assert.equal(response.statusCode, 422)
  const body = response.json() as { error: { code: string; details: { field: string }[] } }
  assert.equal(body.error.code, 'VALIDATION_ERROR')
  assert.deepEqual(body.error.details.map((detail) => detail.field).sort(), [...fields].sort())
}

export async function auditTypes(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.context.db
    .selectFrom('audit_events')
    .select('type')
    .where('user_id', '=', userId)
    .orderBy('at')
    .orderBy('id')
    .execute()
  return rows.map((row) => row.type)
}

/**
 * The SQL text of every statement `action` runs through `context.db` (parameters left out), so
 * that two requests can be shown to do the same database work.
 */
export async function statementsOf(t: TestApp, action: () => Promise<unknown>): Promise<string[]> {
  const original = t.context.db
  const statements: string[] = []
  const recorder: KyselyPlugin = {
    transformQuery: (args) => {
      statements.push(original.getExecutor().compileQuery(args.node, args.queryId).sql)
      return args.node
    },
    transformResult: async (args) => args.result,
  }
  t.context.db = original.withPlugin(recorder)
  try {
    await action()
  } finally {
    t.context.db = original
  }
  return statements
}

/** Asserts that no log line written so far contains any of `secrets`. */
export function assertNotLogged(t: TestApp, secrets: string[]): void {
  const text = t.logs.text()
  assert.ok(text.length > 0, 'nothing was logged')
  for (const secret of secrets) {
    assert.ok(secret.length >= 16, 'a secret this short proves nothing')
    assert.ok(!text.includes(secret), `the log contains ${secret.slice(0, 6)}…`)
  }
}
