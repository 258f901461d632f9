// The secrets form's rules, as the admin API enforces them (PUT /v1/tenant/secrets), so the
// form says what is wrong before anything is sent.
import type { paths } from '@/api/schema'

export const SECRET_FIELDS = ['contact_secret', 'app_secret', 'agent_id', 'callback_token', 'encoding_aes_key'] as const
export type SecretField = (typeof SECRET_FIELDS)[number]
export type SecretsInput = Record<SecretField, string>
type SecretsChange = NonNullable<paths['/v1/tenant/secrets']['put']['requestBody']>['content']['application/json']

const RULES: Record<SecretField, RegExp> = {
  contact_secret: /^[!-~]{1,128}$/,
  app_secret: /^[!-~]{1,128}$/,
  agent_id: /^[1-9][0-9]{0,9}$/,
  callback_token: /^[A-Za-z0-9]{3,32}$/,
  encoding_aes_key: /^[A-Za-z0-9+/]{43}$/,
}
const MAX_AGENT_ID = 2147483647

function valid(field: SecretField, value: string): boolean {
  if (!RULES[field].test(value)) return false
  return field !== 'agent_id' || Number(value) <= MAX_AGENT_ID
}

/** The fields filled in but out of shape (an empty field is left unchanged, not wrong). */
export function secretsProblems(input: SecretsInput): SecretField[] {
  return SECRET_FIELDS.filter((f) => input[f] !== '' && !valid(f, input[f]))
}

/** The request body: only the fields filled in. */
export function secretsBody(input: SecretsInput): SecretsChange {
  const body: Record<string, string | number> = {}
  for (const f of SECRET_FIELDS) {
    if (input[f] === '') continue
    body[f] = f === 'agent_id' ? Number(input[f]) : input[f]
  }
  return body as SecretsChange
}
