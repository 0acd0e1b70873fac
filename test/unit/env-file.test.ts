import { test } from 'node:test'
import assert from 'node:assert/strict'
import { containerIdFromMountinfo, envFileKey, mergeEnvFile } from '../../node/contract/env-file.ts'
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

/** /proc/self/mountinfo of a container on the host network (Docker 20.10, overlay2), shortened. */
const ID = '3f2a9c1d0e4b7a6f5e4d3c2b1a0918273645546372819a0b1c2d3e4f5a6b7c8d'
const MOUNTINFO = [
  '1360 1359 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABCDEF:/var/lib/docker/overlay2/l/GHIJKL,upperdir=/var/lib/docker/overlay2/0f1e/diff',
  '1361 1360 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  `1370 1360 8:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
  `1371 1360 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  '1372 1360 8:1 /home/u/runs/r1/config /patchday/config ro,relatime - ext4 /dev/sda1 rw'
].join('\n') + '\n'

test('a container finds its own id in its mountinfo; anything else has none', () => {
  assert.equal(containerIdFromMountinfo(MOUNTINFO), ID)
  // A Docker root on its own file system: the mount's root is relative to it.
  assert.equal(containerIdFromMountinfo(`1370 1360 8:17 /docker/containers/${ID}/hostname /etc/hostname rw - ext4 /dev/sdb1 rw\n`), ID)
  assert.equal(containerIdFromMountinfo('1361 1360 0:55 / /proc rw - proc proc rw\n'), null)
  assert.equal(containerIdFromMountinfo('1370 1360 8:1 /var/lib/docker/containers/not-an-id/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n'), null)
  assert.equal(containerIdFromMountinfo(''), null)
})

test('PATCHDAY_ENV_KEY=container-id: the env file is read by the short container id, not the (shared) host name', () => {
  const never = (): string => { throw new Error('mountinfo read without container-id') }
  assert.equal(envFileKey(BASE, 'vm', never), 'vm')
  assert.equal(envFileKey({ ...BASE, PATCHDAY_ENV_KEY: 'hostname' }, 'vm', never), 'vm')
  const env = { ...BASE, PATCHDAY_ENV_KEY: 'container-id' }
  const key = envFileKey(env, 'vm', () => MOUNTINFO)
  assert.equal(key, '3f2a9c1d0e4b')
  assert.equal(mergeEnvFile(env, TEXT, key).PATCHDAY_PEER, 'p-017')
  // PATCHDAY_ENV_KEY is a setting the peer parses (so compose files may set it), not one an entry may set.
  assert.equal(parseConfig({ ...mergeEnvFile(env, TEXT, key), PATCHDAY_PEER: 'p-017' }).envKey, 'container-id')
  assert.throws(() => mergeEnvFile(BASE, JSON.stringify({ vm: { PATCHDAY_ENV_KEY: 'hostname' } }), 'vm'), /PATCHDAY_ENV_KEY is not a setting/)
  for (const [mountinfo, why] of [[() => 'nothing here\n', /no container id in \/proc\/self\/mountinfo/], [() => { throw Object.assign(new Error('gone'), { code: 'ENOENT' }) }, /cannot read \/proc\/self\/mountinfo \(ENOENT\)/]] as const) {
    assert.throws(() => envFileKey(env, 'vm', mountinfo), (e: Error & { variable?: string }) => e.name === 'ConfigError' && e.variable === 'PATCHDAY_ENV_KEY' && why.test(e.message))
  }
  assert.throws(() => envFileKey({ ...BASE, PATCHDAY_ENV_KEY: 'pid' }, 'vm', never), /expected one of hostname, container-id/)
})
