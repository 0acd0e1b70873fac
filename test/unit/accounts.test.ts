import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AccountRecord, AccountsFile, Credentials, hashPassword, verifyPassword } from '../../node/contract/accounts.ts'

test('a hashed password verifies; the record is valid and holds no plain text', () => {
  const rec = hashPassword('correct horse')
  assert.deepEqual(AccountRecord.parse(rec), rec)
  assert.equal(rec.N, 64)
  assert.ok(!JSON.stringify(rec).includes('correct horse'))
  assert.equal(verifyPassword('correct horse', rec), true)
})

test('a wrong password does not verify', () => {
  const rec = hashPassword('correct horse')
  for (const wrong of ['correct horsE', 'correct horse ', '', 'battery staple']) assert.equal(verifyPassword(wrong, rec), false, wrong)
})

test('two hashes of the same password have different salts and hashes', () => {
  const a = hashPassword('same')
  const b = hashPassword('same')
  assert.notEqual(a.salt, b.salt)
  assert.notEqual(a.hash, b.hash)
  assert.equal(verifyPassword('same', a), true)
  assert.equal(verifyPassword('same', b), true)
})

test('a given salt gives the same hash (and the salt is what is stored)', () => {
  const salt = Buffer.alloc(16, 7)
  const a = hashPassword('pw', salt)
  const b = hashPassword('pw', salt)
  assert.deepEqual(a, b)
  assert.equal(a.salt, salt.toString('hex'))
})

test('verification uses the N stored with the record', () => {
  const rec = hashPassword('pw')
  // The same hash labelled with another cost no longer matches.
  assert.equal(verifyPassword('pw', { ...rec, N: 2048 }), false)
})

test('the accounts file and credentials schemas refuse bad records', () => {
  const rec = hashPassword('pw')
  assert.equal(AccountsFile.safeParse({ version: 1, accounts: { 'user-001': rec } }).success, true)
  assert.equal(AccountsFile.safeParse({ version: 2, accounts: {} }).success, false)
  assert.equal(AccountRecord.safeParse({ ...rec, salt: 'short' }).success, false)
  assert.equal(AccountRecord.safeParse({ ...rec, password: 'pw' }).success, false)
  assert.equal(Credentials.safeParse({ account: 'user-001', password: 'pw' }).success, true)
  assert.equal(Credentials.safeParse({ account: 'user-001', password: '' }).success, false)
  assert.equal(Credentials.safeParse({ account: 'user-001', password: 'pw', extra: 1 }).success, false)
})
