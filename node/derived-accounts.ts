/**
 * Where the login server looks an account up: the accounts file, or (with a
 * lab secret and no file) accounts derived from the secret, where every name is
 * an account whose password is labPassword(secret, name).
 *
 * A derived account is checked exactly as a file account is: its record is
 * hashPassword(labPassword(secret, name)), computed at the first login of the
 * name and kept, and the password goes through verifyPassword. So a login costs
 * the server the same scrypt work either way (a name's first login costs one
 * hash more). The records are kept in a bounded map: past `max` names the
 * oldest is dropped (and recomputed if it logs in again), so that a flood of
 * invented names cannot grow the server without bound.
 */
import { hashPassword, type AccountRecord, type AccountsFile } from './contract/accounts.ts'
import { labPassword } from './contract/lab-secret.ts'

/** An account's record, or undefined when there is no such account. */
export type AccountLookup = (name: string) => AccountRecord | undefined

/** Derived account records kept at most (about 250 bytes each). */
export const DERIVED_ACCOUNTS_MAX = 100_000

/** The accounts of a file. Own properties only: 'constructor' or '__proto__' must be unknown accounts, not Object.prototype's. */
export function fileAccounts (accounts: AccountsFile['accounts']): AccountLookup {
  return (name) => Object.hasOwn(accounts, name) ? accounts[name] : undefined
}

export class DerivedAccounts {
  private readonly secret: string
  private readonly max: number
  private readonly records = new Map<string, AccountRecord>()
  /** Records computed so far (a name dropped and seen again counts twice). */
  hashed = 0

  constructor (secret: string, max = DERIVED_ACCOUNTS_MAX) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max ${max} is not a positive whole number`)
    this.secret = secret
    this.max = max
  }

  get size (): number { return this.records.size }

  readonly lookup: AccountLookup = (name) => {
    let rec = this.records.get(name)
    if (rec === undefined) {
      rec = hashPassword(labPassword(this.secret, name))
      this.hashed++
      // A Map iterates in insertion order: the first key is the oldest.
      if (this.records.size >= this.max) this.records.delete(this.records.keys().next().value as string)
      this.records.set(name, rec)
    }
    return rec
  }
}
