/** The settings that let a container replica configure itself: lab secret, {hostname}, announce auto, lab subnet, env file key. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { configToEnv, parseConfig, type HostFacts } from '../../node/contract/config.ts'
import type { Interfaces } from '../../node/contract/host.ts'

const MINIMAL: Record<string, string> = {
  PATCHDAY_RUN_ID: 'run-1',
  PATCHDAY_PEER: 'p-001',
  PATCHDAY_ROLE: 'peer',
  PATCHDAY_STATE_DIR: '/tmp/patchday/p-001',
  PATCHDAY_SEED: 'seed.1',
  PATCHDAY_LOGIN_ADDR: '/dns4/login/tcp/4000'
}
const SECRET = '0123456789abcdef'
const env = (over: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({ ...MINIMAL, ...over })

const SWARM: Interfaces = {
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  eth0: [{ address: '10.0.0.12', family: 'IPv4', internal: false }],
  eth1: [{ address: '10.20.3.4', family: 'IPv4', internal: false }, { address: 'fe80::42', family: 'IPv6', internal: false }]
}

/** A host that counts how often it is asked. */
function host (name: string, interfaces: Interfaces = SWARM): HostFacts & { asked: { hostname: number, interfaces: number } } {
  const asked = { hostname: 0, interfaces: 0 }
  return { asked, hostname: () => { asked.hostname++; return name }, interfaces: () => { asked.interfaces++; return interfaces } }
}

function assertConfigError (fn: () => unknown, variable: string): Error {
  let caught: unknown
  assert.throws(fn, (err: unknown) => { caught = err; return true })
  assert.ok(caught instanceof Error)
  assert.equal(caught.name, 'ConfigError')
  assert.equal((caught as Error & { variable: string }).variable, variable)
  return caught
}

test('the new settings default to empty and need nothing of the host', () => {
  const h = host('abc')
  const c = parseConfig(env(), h)
  assert.equal(c.labSecret, '')
  assert.equal(c.labSubnet, '')
  assert.equal(c.envFile, '')
  assert.equal(c.announceIp, '')
  assert.deepEqual(h.asked, { hostname: 0, interfaces: 0 })
})

test('a lab secret has at least 16 characters, and a refusal does not show it', () => {
  assert.equal(parseConfig(env({ PATCHDAY_LAB_SECRET: SECRET })).labSecret, SECRET)
  const err = assertConfigError(() => parseConfig(env({ PATCHDAY_LAB_SECRET: 'short-secret-15' })), 'PATCHDAY_LAB_SECRET')
  assert.ok(!err.message.includes('short-secret-15'), err.message)
})

test('the login server needs an accounts file or a lab secret', () => {
  const login = { PATCHDAY_ROLE: 'login', PATCHDAY_PEER: 'login', PATCHDAY_LOGIN_ADDR: undefined }
  assertConfigError(() => parseConfig(env({ ...login, PATCHDAY_LAB_SECRET: '' })), 'PATCHDAY_ACCOUNTS_FILE')
  const derived = parseConfig(env({ ...login, PATCHDAY_LAB_SECRET: SECRET }))
  assert.equal(derived.accountsFile, '')
  assert.equal(derived.labSecret, SECRET)
  assert.equal(parseConfig(env({ ...login, PATCHDAY_ACCOUNTS_FILE: '/a.json', PATCHDAY_LAB_SECRET: SECRET })).accountsFile, '/a.json')
})

test('{hostname} in the peer name is the sanitised host name, within the 32-character limit', () => {
  assert.equal(parseConfig(env({ PATCHDAY_PEER: 'peer-{hostname}' }), host('3f2a9c1d0e4b')).peer, 'peer-3f2a9c1d0e4b')
  assert.equal(parseConfig(env({ PATCHDAY_PEER: '{hostname}' }), host('web 1:a')).peer, 'web-1-a')
  assert.equal(parseConfig(env({ PATCHDAY_PEER: 'peer-{hostname}' }), host('a'.repeat(27))).peer.length, 32)
  assertConfigError(() => parseConfig(env({ PATCHDAY_PEER: 'peer-{hostname}' }), host('a'.repeat(28))), 'PATCHDAY_PEER')
  assertConfigError(() => parseConfig(env({ PATCHDAY_PEER: '{hostname}' }), host('')), 'PATCHDAY_PEER')
  // Only the peer name is substituted.
  assertConfigError(() => parseConfig(env({ PATCHDAY_RUN_ID: 'run-{hostname}' }), host('x')), 'PATCHDAY_RUN_ID')
})

test('announce auto takes the first non-internal IPv4 address, or the first inside the lab subnet', () => {
  assert.equal(parseConfig(env({ PATCHDAY_ANNOUNCE_IP: 'auto' }), host('h')).announceIp, '10.0.0.12')
  assert.equal(parseConfig(env({ PATCHDAY_ANNOUNCE_IP: 'auto', PATCHDAY_LAB_SUBNET: '10.20.0.0/16' }), host('h')).announceIp, '10.20.3.4')
  // A subnet without auto changes nothing.
  assert.equal(parseConfig(env({ PATCHDAY_ANNOUNCE_IP: '10.9.9.9', PATCHDAY_LAB_SUBNET: '10.20.0.0/16' }), host('h')).announceIp, '10.9.9.9')
  // The resolved address round-trips: what a peer announces is a plain address.
  const c = parseConfig(env({ PATCHDAY_ANNOUNCE_IP: 'auto' }), host('h'))
  assert.deepEqual(parseConfig(configToEnv(c), host('other', {})), c)
})

test('announce auto with no usable address is a ConfigError naming PATCHDAY_ANNOUNCE_IP', () => {
  const loOnly: Interfaces = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }], eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false }] }
  assertConfigError(() => parseConfig(env({ PATCHDAY_ANNOUNCE_IP: 'auto' }), host('h', loOnly)), 'PATCHDAY_ANNOUNCE_IP')
  assertConfigError(() => parseConfig(env({ PATCHDAY_ANNOUNCE_IP: 'auto', PATCHDAY_LAB_SUBNET: '192.168.0.0/16' }), host('h')), 'PATCHDAY_ANNOUNCE_IP')
})

test('bad lab subnets, listen and announce addresses are refused by name', () => {
  for (const v of ['10.20.0.0', '10.20.0.0/33', '10.256.0.0/16', 'lab', '10.20.0.0/16,10.30.0.0/16']) {
    assertConfigError(() => parseConfig(env({ PATCHDAY_LAB_SUBNET: v }), host('h')), 'PATCHDAY_LAB_SUBNET')
  }
  for (const v of ['AUTO', 'auto ', '256.1.1.1', '1.2.3', 'peer.example']) assertConfigError(() => parseConfig(env({ PATCHDAY_ANNOUNCE_IP: v }), host('h')), 'PATCHDAY_ANNOUNCE_IP')
  for (const v of ['auto', '300.0.0.1', '0.0.0']) assertConfigError(() => parseConfig(env({ PATCHDAY_LISTEN_IP: v }), host('h')), 'PATCHDAY_LISTEN_IP')
  assert.equal(parseConfig(env({ PATCHDAY_LISTEN_IP: '0.0.0.0' })).listenIp, '0.0.0.0')
})
