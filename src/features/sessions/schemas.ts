import { Type, type Static } from 'typebox'

export const SessionView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({
      format: 'date-time',
      description: 'When the session ends unless it is refreshed before.',
    }),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean({ description: 'The session of the access token making this request.' }),
  },
  { title: 'Session' },
)

export const SessionIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })) },
  { additionalProperties: false },
)
export type RefreshBody = Static<typeof RefreshBody>
