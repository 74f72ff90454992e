import { Type, type Static } from 'typebox'
import { CLIENT_ID_PATTERN } from '../../identity/clients/credentials.ts'
import { CLIENT_KEY_ALGORITHMS, MAX_CLIENT_KEYS } from '../../identity/clients/jwks.ts'
import { GATEHOUSE_CLIENT_SCOPES } from '../../identity/clients/scopes.ts'
import { NextCursor, PageQuery } from '../../platform/http/pagination.ts'

export const MAX_CLIENT_SCOPES = 64

const ClientName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\p{Cc}]*$',
  'x-error-message': 'must be 1 to 200 characters without control characters',
  description: 'What the client is (`billing worker`), shown in lists and the audit log.',
})

const ScopeName = Type.String({
  pattern: '^[a-z][a-z0-9_.:-]{0,63}$',
  'x-error-message': 'must be a scope name: a lowercase letter, then up to 63 of a-z 0-9 _ . : -',
})

const ClientScopes = Type.Array(ScopeName, {
  maxItems: MAX_CLIENT_SCOPES,
  uniqueItems: true,
  description:
    `The scopes the client may be granted: any names your services check, and Gatehouse's own ` +
    `${GATEHOUSE_CLIENT_SCOPES.map((scope) => `\`${scope}\``).join(' and ')}.`,
})

const AuthMethod = Type.Union(
  [Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('private_key_jwt')],
  {
    description:
      'How the client proves itself at the token endpoint: a secret in HTTP Basic, a secret in the form, ' +
      'or an RFC 7523 assertion signed with a key of its `jwks`.',
  },
)

/** Checked in full by `checkClientJwks` (a 422 naming `jwks`); the schema only bounds its size. */
const Jwks = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: MAX_CLIENT_KEYS }) },
  {
    description:
      `The client's public keys (\`private_key_jwt\` only), 1 to ${MAX_CLIENT_KEYS}, each with a unique ` +
      `\`kid\` and an \`alg\` of ${CLIENT_KEY_ALGORITHMS.join(', ')}. Private members and \`oct\` keys are refused.`,
  },
)

export const CreateClientBody = Type.Object(
  {
    name: ClientName,
    scopes: ClientScopes,
    token_endpoint_auth_method: AuthMethod,
    jwks: Type.Optional(Jwks),
  },
  { additionalProperties: false },
)
export type CreateClientBody = Static<typeof CreateClientBody>

export const UpdateClientBody = Type.Object(
  {
    name: Type.Optional(ClientName),
    scopes: Type.Optional(ClientScopes),
    disabled: Type.Optional(
      Type.Boolean({ description: 'Disabling revokes every token of the client at once.' }),
    ),
    jwks: Type.Optional(Jwks),
  },
  { additionalProperties: false },
)
export type UpdateClientBody = Static<typeof UpdateClientBody>

const clientFields = {
  client_id: Type.String({
    pattern: CLIENT_ID_PATTERN,
    description: 'Generated: `client_` and 22 characters.',
  }),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  token_endpoint_auth_method: AuthMethod,
  jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
  disabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
}

export const ClientView = Type.Object(clientFields, { title: 'Client' })
export type ClientView = Static<typeof ClientView>

export const CreatedClient = Type.Object(
  {
    ...clientFields,
    client_secret: Type.Optional(
      Type.String({
        description: 'The secret methods only: shown in this response only, stored only as a hash.',
      }),
    ),
  },
  { title: 'CreatedClient' },
)
export type CreatedClient = Static<typeof CreatedClient>

export const ClientSecret = Type.Object(
  {
    client_secret: Type.String({
      description: 'The new secret, shown only here; the previous one no longer works.',
    }),
  },
  { title: 'ClientSecret' },
)

export const ClientPage = Type.Object(
  { items: Type.Array(ClientView), next_cursor: NextCursor },
  { title: 'ClientPage' },
)
export type ClientPage = Static<typeof ClientPage>

export const ClientListQuery = Type.Object(PageQuery)

export const ClientIdParams = Type.Object({ id: Type.String({ pattern: CLIENT_ID_PATTERN }) })
