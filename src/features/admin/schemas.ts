import { Type, type Static } from 'typebox'
import { AUDIT_EVENT_TYPES } from '../../identity/audit/audit-log.ts'
import { FullName, UserRef } from '../../identity/users/schemas.ts'
import { NextCursor, PageQuery } from '../../platform/http/pagination.ts'

export const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })

export const SearchUsersQuery = Type.Object({
  ...PageQuery,
  q: Type.Optional(
    Type.String({
      maxLength: 254,
      description: 'Part of the email, username or full name (case-insensitive).',
    }),
  ),
})
export type SearchUsersQuery = Static<typeof SearchUsersQuery>

export const UserPage = Type.Object(
  { items: Type.Array(UserRef), next_cursor: NextCursor },
  { title: 'UserPage' },
)

const RoleName = Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_.:-]{1,64}$' })

export const AdminUpdateUserBody = Type.Object(
  {
    roles: Type.Optional(
      Type.Array(RoleName, {
        minItems: 1,
        maxItems: 32,
        uniqueItems: true,
        description: 'Roles from ROLE_SCOPES.',
      }),
    ),
    disabled: Type.Optional(Type.Boolean({ description: 'Disabling ends every session at once.' })),
    full_name: Type.Optional(Type.Union([FullName, Type.Null()])),
  },
  { additionalProperties: false },
)
export type AdminUpdateUserBody = Static<typeof AdminUpdateUserBody>

export const Stats = Type.Object(
  {
    users_total: Type.Integer(),
    sessions_active: Type.Integer({ description: 'Sessions not ended and not past their absolute end.' }),
    logins_24h: Type.Integer(),
    failed_logins_24h: Type.Integer(),
  },
  { title: 'Stats' },
)

export const AuditQuery = Type.Object({
  ...PageQuery,
  user_id: Type.Optional(Type.String({ format: 'uuid' })),
  type: Type.Optional(Type.Union(AUDIT_EVENT_TYPES.map((type) => Type.Literal(type)))),
})
export type AuditQuery = Static<typeof AuditQuery>

export const AuditEventView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: Type.String(),
    user_id: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    at: Type.String({ format: 'date-time' }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { title: 'AuditEvent' },
)

export const AuditPage = Type.Object(
  { items: Type.Array(AuditEventView), next_cursor: NextCursor },
  { title: 'AuditPage' },
)
