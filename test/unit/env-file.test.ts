import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mergeEnvFile } from '../../node/contract/env-file.ts'
import { parseConfig } from '../../node/contract/config.ts'

const FILE = '/run/patchday/env.json'
const BASE: Record<string, string | undefined> = {
  PATCHDAY_ENV_FILE: FILE,
  PATCHDAY_RUN_ID: 'run-1',
  PATCHDAY_PEER: 'peer-{hostname}',
  PATCHDAY_ROLE: 'peer',
  PATCHDAY_STATE_DIR: '/state',
  PATCHDAY_SEED: 's',
  PATCHDAY_LOGIN_ADDR: '/dns4/login/tcp/4000',
  PATCHDAY_CAPACITY_CLASS: '1',
  PATH: '/usr/bin'
}
const TEXT = JSON.stringify({
  '3f2a9c1d0e4b': { PATCHDAY_PEER: 'p-017', PATCHDAY_CAPACITY_CLASS: '3', PATCHDAY_CRASH_REPLY_THRESHOLD_MS: '2000' },
  '9e8d7c6b5a41': { PATCHDAY_PEER: 'p-018' }
})

function assertEnvFileError (fn: () => unknown, mustName: string[]): void {
  let caught: unknown
  assert.throws(fn, (err: unknown) => { caught = err; return true })
  assert.ok(caught instanceof Error)
  assert.equal(caught.name, 'ConfigError')
  assert.equal((caught as Error & { variable: string }).variable, 'PATCHDAY_ENV_FILE')
  assert.ok(!caught.message.includes('\n'), `one line: ${caught.message}`)
  for (const s of mustName) assert.ok(caught.message.includes(s), `names ${s}: ${caught.message}`)
}

test('the entry of this host is merged over the environment; the rest stays', () => {
  const merged = mergeEnvFile(BASE, TEXT, '3f2a9c1d0e4b')
  assert.equal(merged.PATCHDAY_PEER, 'p-017')
  assert.equal(merged.PATCHDAY_CAPACITY_CLASS, '3')
  assert.equal(merged.PATCHDAY_CRASH_REPLY_THRESHOLD_MS, '2000')
  assert.equal(merged.PATCHDAY_RUN_ID, 'run-1')
  assert.equal(merged.PATH, '/usr/bin')
  // Pure: the input is untouched.
  assert.equal(BASE.PATCHDAY_PEER, 'peer-{hostname}')
  const c = parseConfig(mergeEnvFile(BASE, TEXT, '9e8d7c6b5a41'))
  assert.equal(c.peer, 'p-018')
  assert.equal(c.capacityClass, 1)
})

test('an entry may itself use {hostname}, resolved by parseConfig afterwards', () => {
  const merged = mergeEnvFile(BASE, JSON.stringify({ h1: { PATCHDAY_PEER: 'sn-{hostname}' } }), 'h1')
  assert.equal(parseConfig(merged, { hostname: () => 'h1', interfaces: () => ({}) }).peer, 'sn-h1')
})

test('no entry for this host names the file and the host', () => {
  assertEnvFileError(() => mergeEnvFile(BASE, TEXT, 'abcdef123456'), [FILE, 'abcdef123456'])
  // Only own keys: a prototype property is not an entry.
  assertEnvFileError(() => mergeEnvFile(BASE, TEXT, '__proto__'), [FILE, '__proto__'])
  assertEnvFileError(() => mergeEnvFile(BASE, '{}', 'constructor'), [FILE, 'constructor'])
})

test('text that is not JSON, or not of the expected shape, is refused naming the file', () => {
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": {"PATCHDAY_PEER": "p-1"', 'h1'), [FILE])
  assertEnvFileError(() => mergeEnvFile(BASE, '{\n  x\n}', 'h1'), [FILE])
  assertEnvFileError(() => mergeEnvFile(BASE, '', 'h1'), [FILE])
  assertEnvFileError(() => mergeEnvFile(BASE, '[]', 'h1'), [FILE])
  assertEnvFileError(() => mergeEnvFile(BASE, 'null', 'h1'), [FILE])
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": ["PATCHDAY_PEER=p-1"]}', 'h1'), [FILE, 'h1'])
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": {"PATCHDAY_CAPACITY_CLASS": 3}}', 'h1'), [FILE, 'h1', 'PATCHDAY_CAPACITY_CLASS'])
})

test('an entry sets settings only: not unknown variables, not the env file itself', () => {
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": {"PATCHDAY_SLOT_MAX": "3"}}', 'h1'), [FILE, 'h1', 'PATCHDAY_SLOT_MAX'])
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": {"NODE_OPTIONS": "--inspect"}}', 'h1'), [FILE, 'h1', 'NODE_OPTIONS'])
  assertEnvFileError(() => mergeEnvFile(BASE, '{"h1": {"PATCHDAY_ENV_FILE": "/other.json"}}', 'h1'), [FILE, 'h1', 'PATCHDAY_ENV_FILE'])
})
