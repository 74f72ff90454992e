import { Type, type Static } from 'typebox'
import { PAT_MIN_TTL_SECONDS } from '../../platform/config/config.ts'

const TokenName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[^\\p{Cc}]*$',
  'x-error-message': 'must be 1 to 100 characters without control characters',
  description: 'What the token is for (`CI deploy`), shown in the list.',
})

/** `POST /me/tokens`'s body; the longest lifetime is `PAT_MAX_TTL`, so the schema is built from it. */
export const createTokenBody = (maxTtlSeconds: number) =>
  Type.Object(
    {
      name: TokenName,
      scope: Type.Optional(
        Type.String({
          maxLength: 1024,
          pattern: '^[\\x20-\\x7E]*$',
          'x-error-message': 'must be space-separated scope names',
          description:
            'Space-separated scopes, each held by the access token that asks and allowed by your roles ' +
            '(anything else is a `422` naming `scope`, never silently dropped). Absent: every scope of ' +
            'the access token that asks.',
        }),
      ),
      expires_in: Type.Optional(
        Type.Integer({
          minimum: PAT_MIN_TTL_SECONDS,
          maximum: maxTtlSeconds,
          description: `Seconds until it expires, ${PAT_MIN_TTL_SECONDS} to \`PAT_MAX_TTL\` (${maxTtlSeconds}, the default).`,
        }),
      ),
    },
    { additionalProperties: false },
  )
export type CreateTokenBody = Static<ReturnType<typeof createTokenBody>>

const personalTokenFields = {
  id: Type.String({
    format: 'uuid',
    description: 'Also the `jti` introspection gives, and the `pat_id` of revocations.',
  }),
  name: Type.String(),
  scope: Type.String({
    description: 'Space-separated, as created; narrowed at each use to what your roles allow.',
  }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'Written at most once a minute per instance, so it may lag the last use by up to a minute.',
  }),
}

export const PersonalTokenView = Type.Object(personalTokenFields, { title: 'PersonalAccessToken' })
export type PersonalTokenView = Static<typeof PersonalTokenView>

export const CreatedPersonalToken = Type.Object(
  {
    ...personalTokenFields,
    token: Type.String({
      description: 'The token, `gatehouse_pat_` and 43 characters: shown only here, stored only as a hash.',
    }),
  },
  { title: 'CreatedPersonalAccessToken' },
)

export const PersonalTokenList = Type.Object(
  { items: Type.Array(PersonalTokenView, { description: 'Newest first; never a token or its hash.' }) },
  { title: 'PersonalAccessTokenList' },
)

export const TokenIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
export const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
export const UserTokenParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  token_id: Type.String({ format: 'uuid' }),
})
