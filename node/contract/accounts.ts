/**
 * Accounts: created by the orchestrator at `up`, stored on disk with salted
 * scrypt hashes (never plain), checked by the login server.
 *
 * scrypt's cost is lowered from the usual N=2^14 to N=2^6 (0.23 ms here; 2^8
 * took 0.85 ms): the login server's CPU per login is a budget (at most 10 ms,
 * handshake included), and what limits logins in an experiment must be the
 * emulated capacity, not the hash. These are generated lab accounts, not user
 * passwords. Each record keeps its N, so the cost can change without new accounts.
 */
import { scryptSync, randomBytes, timingSafeEqual } from 'node:crypto'
import * as z from 'zod/mini'

const SCRYPT = { N: 64, r: 8, p: 1 } as const
const KEY_BYTES = 32

export const AccountRecord = z.strictObject({
  salt: z.string().check(z.regex(/^[0-9a-f]{32}$/)),
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  N: z.int().check(z.positive())
})
export type AccountRecord = z.infer<typeof AccountRecord>

export const AccountsFile = z.object({ version: z.literal(1), accounts: z.record(z.string(), AccountRecord) })
export type AccountsFile = z.infer<typeof AccountsFile>

export function hashPassword (password: string, salt: Buffer = randomBytes(16)): AccountRecord {
  const hash = scryptSync(password, salt, KEY_BYTES, SCRYPT)
  return { salt: salt.toString('hex'), hash: hash.toString('hex'), N: SCRYPT.N }
}

export function verifyPassword (password: string, rec: AccountRecord): boolean {
  const hash = scryptSync(password, Buffer.from(rec.salt, 'hex'), KEY_BYTES, { ...SCRYPT, N: rec.N })
  return timingSafeEqual(hash, Buffer.from(rec.hash, 'hex'))
}

/** What a peer keeps in its state directory to log in with. */
export const Credentials = z.strictObject({ account: z.string().check(z.minLength(1), z.maxLength(64)), password: z.string().check(z.minLength(1), z.maxLength(256)) })
export type Credentials = z.infer<typeof Credentials>
