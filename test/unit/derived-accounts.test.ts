import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashPassword, verifyPassword } from '../../node/contract/accounts.ts'
import { labPassword } from '../../node/contract/lab-secret.ts'
import { DERIVED_ACCOUNTS_MAX, DerivedAccounts, fileAccounts } from '../../node/derived-accounts.ts'

const SECRET = '0123456789abcdef'
const OTHER = 'fedcba9876543210'

test('every name is a derived account whose password is labPassword(secret, name), checked by verifyPassword', () => {
  const accounts = new DerivedAccounts(SECRET)
  for (const name of ['p-001', 'sn-1', 'peer-3f2a9c1d0e4b']) {
    const rec = accounts.lookup(name)
    assert.ok(rec !== undefined)
    assert.equal(verifyPassword(labPassword(SECRET, name), rec), true)
    assert.equal(verifyPassword(labPassword(OTHER, name), rec), false, 'another secret')
    assert.equal(verifyPassword(labPassword(SECRET, `${name}x`), rec), false, 'another name')
  }
  // A salted record like a file account's, not the password itself.
  const rec = accounts.lookup('p-001')
  assert.ok(rec !== undefined)
  assert.match(rec.salt, /^[0-9a-f]{32}$/)
  assert.equal(rec.N, hashPassword('x').N)
  assert.ok(!JSON.stringify(rec).includes(labPassword(SECRET, 'p-001')))
})

test('a name is hashed once, then served from the cache', () => {
  const accounts = new DerivedAccounts(SECRET)
  const first = accounts.lookup('p-001')
  assert.equal(accounts.lookup('p-001'), first)
  assert.equal(accounts.lookup('p-001'), first)
  assert.equal(accounts.hashed, 1)
  accounts.lookup('p-002')
  assert.equal(accounts.hashed, 2)
  assert.equal(accounts.size, 2)
})

test('the cache is bounded: past max names the oldest is dropped and recomputed when seen again', () => {
  assert.equal(DERIVED_ACCOUNTS_MAX, 100_000)
  const accounts = new DerivedAccounts(SECRET, 3)
  for (const n of ['a', 'b', 'c', 'd', 'e']) accounts.lookup(n)
  assert.equal(accounts.size, 3)
  assert.equal(accounts.hashed, 5)
  accounts.lookup('e') // kept
  assert.equal(accounts.hashed, 5)
  const again = accounts.lookup('a') // dropped: hashed anew, still valid
  assert.equal(accounts.hashed, 6)
  assert.ok(again !== undefined && verifyPassword(labPassword(SECRET, 'a'), again))
  assert.equal(accounts.size, 3)
  assert.throws(() => new DerivedAccounts(SECRET, 0), (err: unknown) => err instanceof Error && err.name === 'RangeError')
})

test('file accounts: own names only', () => {
  const lookup = fileAccounts({ 'p-001': hashPassword('pw') })
  assert.ok(lookup('p-001') !== undefined)
  assert.equal(lookup('p-002'), undefined)
  assert.equal(lookup('constructor'), undefined)
  assert.equal(lookup('__proto__'), undefined)
  assert.equal(lookup('toString'), undefined)
})
