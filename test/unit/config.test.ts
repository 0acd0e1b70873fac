import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CONFIG_SPEC, configRows, configToEnv, envName, parseConfig, type PeerConfig } from '../../node/contract/config.ts'

/** The smallest environment a peer starts with: the required settings plus the login address a peer needs. */
const MINIMAL: Record<string, string> = {
  PATCHDAY_RUN_ID: 'run-1',
  PATCHDAY_PEER: 'p-001',
  PATCHDAY_ROLE: 'peer',
  PATCHDAY_STATE_DIR: '/tmp/patchday/p-001',
  PATCHDAY_SEED: 'seed.1',
  PATCHDAY_LOGIN_ADDR: '/ip4/127.1.0.1/tcp/4000/p2p/12D3KooWExample'
}

const env = (over: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({ ...MINIMAL, ...over })

function assertConfigError (fn: () => unknown, variable: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'ConfigError')
    assert.equal((err as Error & { variable: string }).variable, variable)
    return true
  })
}

test('a minimal environment parses, taking the documented defaults', () => {
  const c = parseConfig(env())
  assert.equal(c.runId, 'run-1')
  assert.equal(c.peer, 'p-001')
  assert.equal(c.role, 'peer')
  assert.equal(c.stateDir, '/tmp/patchday/p-001')
  assert.equal(c.seed, 'seed.1')
  assert.equal(c.loginAddr, MINIMAL.PATCHDAY_LOGIN_ADDR)
  assert.equal(c.port, 4001)
  assert.equal(c.listenIp, '127.0.0.1')
  assert.equal(c.timeScale, 1)
  assert.equal(c.bootstrap, false)
  assert.equal(c.reachable, true)
  assert.equal(c.retryPolicy, 'full-jitter')
  assert.equal(c.logLevel, 'info')
  assert.deepEqual(c.bootstrapAddrs, [])
  // Every setting of the schema is present, none extra.
  assert.deepEqual(Object.keys(c).sort(), Object.keys(CONFIG_SPEC).sort())
})

test('each required setting, when missing, is named', () => {
  for (const variable of ['PATCHDAY_RUN_ID', 'PATCHDAY_PEER', 'PATCHDAY_ROLE', 'PATCHDAY_STATE_DIR', 'PATCHDAY_SEED']) {
    assertConfigError(() => parseConfig(env({ [variable]: undefined })), variable)
  }
})

test('values of each kind are parsed, not just accepted', () => {
  const c = parseConfig(env({
    PATCHDAY_PORT: ' 4100 ',
    PATCHDAY_TIME_SCALE: '0.05',
    PATCHDAY_BOOTSTRAP: 'YES',
    PATCHDAY_REACHABLE: 'off',
    PATCHDAY_RETRY_POLICY: 'decorrelated',
    PATCHDAY_BOOTSTRAP_ADDRS: ' p-001=/ip4/127.2.1.2/tcp/4001 ,, p-002=/ip4/127.2.1.3/tcp/4001 ',
    PATCHDAY_LISTEN_IP: '0.0.0.0',
    PATCHDAY_ANNOUNCE_IP: '127.2.1.2'
  }))
  assert.equal(c.port, 4100)
  assert.equal(c.timeScale, 0.05)
  assert.equal(c.bootstrap, true)
  assert.equal(c.reachable, false)
  assert.equal(c.retryPolicy, 'decorrelated')
  assert.deepEqual(c.bootstrapAddrs, ['p-001=/ip4/127.2.1.2/tcp/4001', 'p-002=/ip4/127.2.1.3/tcp/4001'])
  assert.equal(c.listenIp, '0.0.0.0')
  assert.equal(c.announceIp, '127.2.1.2')
})

test('every bool spelling is understood', () => {
  for (const v of ['1', 'true', 'yes', 'on', 'TRUE', ' On ']) assert.equal(parseConfig(env({ PATCHDAY_BOOTSTRAP: v })).bootstrap, true, v)
  for (const v of ['0', 'false', 'no', 'off', 'False']) assert.equal(parseConfig(env({ PATCHDAY_BOOTSTRAP: v })).bootstrap, false, v)
})

test('bounds are inclusive', () => {
  assert.equal(parseConfig(env({ PATCHDAY_PORT: '1' })).port, 1)
  assert.equal(parseConfig(env({ PATCHDAY_PORT: '65535' })).port, 65535)
  assert.equal(parseConfig(env({ PATCHDAY_TIME_SCALE: '0.001' })).timeScale, 0.001)
  assert.equal(parseConfig(env({ PATCHDAY_TIME_SCALE: '100' })).timeScale, 100)
  assert.equal(parseConfig(env({ PATCHDAY_RETRY_BASE_MS: '0' })).retryBaseMs, 0)
})

const BAD: Array<[kind: string, variable: string, value: string]> = [
  ['non-integer', 'PATCHDAY_PORT', '4001.5'],
  ['non-integer', 'PATCHDAY_PORT', 'abc'],
  ['non-integer', 'PATCHDAY_PORT', ''],
  ['non-integer', 'PATCHDAY_PORT', '1e3'],
  ['non-integer', 'PATCHDAY_SLOTS_MAX', '0x10'],
  ['non-integer', 'PATCHDAY_RETRY_ATTEMPTS_MAX', '8 tries'],
  ['out of range', 'PATCHDAY_PORT', '0'],
  ['out of range', 'PATCHDAY_PORT', '65536'],
  ['out of range', 'PATCHDAY_CAPACITY_CLASS', '4'],
  ['out of range', 'PATCHDAY_CAPACITY_CLASS', '-1'],
  ['out of range', 'PATCHDAY_ATTACH_TIMEOUT_MS', '0'],
  ['out of range', 'PATCHDAY_RETRY_BASE_MS', '-1'],
  ['out of range', 'PATCHDAY_GIVEUP_PAUSE_MS', '86400001'],
  ['out of range', 'PATCHDAY_PORT', '99999999999999999999999'],
  ['not a number', 'PATCHDAY_TIME_SCALE', 'fast'],
  ['not a number', 'PATCHDAY_TIME_SCALE', ''],
  ['not a number', 'PATCHDAY_TIME_SCALE', '  '],
  ['not a number', 'PATCHDAY_TIME_SCALE', 'NaN'],
  ['not a number', 'PATCHDAY_TIME_SCALE', 'Infinity'],
  ['out of range', 'PATCHDAY_TIME_SCALE', '0'],
  ['out of range', 'PATCHDAY_TIME_SCALE', '100.5'],
  ['out of range', 'PATCHDAY_ELECT_PROMOTE_PROB', '1.01'],
  ['out of range', 'PATCHDAY_ELECT_PROMOTE_PROB', '-0.1'],
  ['bad bool', 'PATCHDAY_BOOTSTRAP', 'maybe'],
  ['bad bool', 'PATCHDAY_BOOTSTRAP', ''],
  ['bad bool', 'PATCHDAY_REACHABLE', '2'],
  ['bad enum', 'PATCHDAY_ROLE', 'supernode'],
  ['bad enum', 'PATCHDAY_RETRY_POLICY', 'Full-Jitter'],
  ['bad enum', 'PATCHDAY_RETRY_POLICY', 'jitter'],
  ['bad enum', 'PATCHDAY_LOG_LEVEL', 'trace'],
  ['bad enum', 'PATCHDAY_LOG_LEVEL', ' info'],
  ['bad enum', 'PATCHDAY_LOGIN_OVERFLOW', ''],
  ['bad pattern', 'PATCHDAY_RUN_ID', 'has space'],
  ['bad pattern', 'PATCHDAY_RUN_ID', 'a/b'],
  ['bad pattern', 'PATCHDAY_RUN_ID', ''],
  ['bad pattern', 'PATCHDAY_RUN_ID', 'r'.repeat(65)],
  ['bad pattern', 'PATCHDAY_PEER', 'p'.repeat(33)],
  ['bad pattern', 'PATCHDAY_SEED', 'seed\n'],
  ['bad pattern', 'PATCHDAY_LISTEN_IP', 'localhost'],
  ['bad pattern', 'PATCHDAY_ANNOUNCE_IP', 'example.org']
]

test('every kind of bad value throws a ConfigError that names its variable', () => {
  for (const [kind, variable, value] of BAD) {
    assert.throws(() => parseConfig(env({ [variable]: value })), (err: unknown) => {
      assert.ok(err instanceof Error, `${kind} ${variable}=${JSON.stringify(value)}`)
      assert.equal(err.name, 'ConfigError', `${kind} ${variable}=${JSON.stringify(value)}`)
      assert.equal((err as Error & { variable: string }).variable, variable, `${kind} ${variable}=${JSON.stringify(value)}`)
      return true
    }, `${kind} ${variable}=${JSON.stringify(value)} was accepted`)
  }
})

test('a peer needs a login address; the login server does not', () => {
  assertConfigError(() => parseConfig(env({ PATCHDAY_LOGIN_ADDR: undefined })), 'PATCHDAY_LOGIN_ADDR')
  assertConfigError(() => parseConfig(env({ PATCHDAY_LOGIN_ADDR: '' })), 'PATCHDAY_LOGIN_ADDR')
  const login = parseConfig(env({ PATCHDAY_ROLE: 'login', PATCHDAY_LOGIN_ADDR: undefined, PATCHDAY_ACCOUNTS_FILE: '/tmp/accounts.json' }))
  assert.equal(login.role, 'login')
  assert.equal(login.accountsFile, '/tmp/accounts.json')
})

test('the login server needs an accounts file', () => {
  assertConfigError(() => parseConfig(env({ PATCHDAY_ROLE: 'login' })), 'PATCHDAY_ACCOUNTS_FILE')
  assertConfigError(() => parseConfig(env({ PATCHDAY_ROLE: 'login', PATCHDAY_ACCOUNTS_FILE: '' })), 'PATCHDAY_ACCOUNTS_FILE')
})

test('the retry base must not exceed the cap', () => {
  assertConfigError(() => parseConfig(env({ PATCHDAY_RETRY_BASE_MS: '5001', PATCHDAY_RETRY_CAP_MS: '5000' })), 'PATCHDAY_RETRY_BASE_MS')
  // Against the default cap too.
  assertConfigError(() => parseConfig(env({ PATCHDAY_RETRY_BASE_MS: '60001' })), 'PATCHDAY_RETRY_BASE_MS')
  const equal = parseConfig(env({ PATCHDAY_RETRY_BASE_MS: '5000', PATCHDAY_RETRY_CAP_MS: '5000' }))
  assert.equal(equal.retryBaseMs, equal.retryCapMs)
})

test('the low load mark must not exceed the high one', () => {
  assertConfigError(() => parseConfig(env({ PATCHDAY_ELECT_LOAD_LOW: '0.6', PATCHDAY_ELECT_LOAD_HIGH: '0.5' })), 'PATCHDAY_ELECT_LOAD_LOW')
  assertConfigError(() => parseConfig(env({ PATCHDAY_ELECT_LOAD_LOW: '0.9' })), 'PATCHDAY_ELECT_LOAD_LOW')
  const equal = parseConfig(env({ PATCHDAY_ELECT_LOAD_LOW: '0.5', PATCHDAY_ELECT_LOAD_HIGH: '0.5' }))
  assert.equal(equal.electLoadLow, 0.5)
})

test('the idle connection timeout must outlast a login held on an attach and two heartbeat or exchange intervals, or be 0', () => {
  // Defaults: attach 5000 + login 10000; heartbeat and exchange 10000 each, twice.
  assert.equal(parseConfig(env({ PATCHDAY_CONN_IDLE_TIMEOUT_MS: '20000' })).connIdleTimeoutMs, 20_000)
  assertConfigError(() => parseConfig(env({ PATCHDAY_CONN_IDLE_TIMEOUT_MS: '19999' })), 'PATCHDAY_CONN_IDLE_TIMEOUT_MS')
  assertConfigError(() => parseConfig(env({ PATCHDAY_LOGIN_TIMEOUT_MS: '200000' })), 'PATCHDAY_CONN_IDLE_TIMEOUT_MS')
  assertConfigError(() => parseConfig(env({ PATCHDAY_HEARTBEAT_INTERVAL_MS: '60001' })), 'PATCHDAY_CONN_IDLE_TIMEOUT_MS')
  assert.equal(parseConfig(env({ PATCHDAY_CONN_IDLE_TIMEOUT_MS: '0', PATCHDAY_LOGIN_TIMEOUT_MS: '200000' })).connIdleTimeoutMs, 0)
})

test('configToEnv round-trips a config with a non-default value of every kind through parseConfig', () => {
  const base = parseConfig(env())
  const changed: PeerConfig = {
    ...base,
    port: 4123,
    timeScale: 0.125,
    bootstrap: true,
    reachable: false,
    retryPolicy: 'equal-jitter',
    logLevel: 'debug',
    bootstrapAddrs: ['p-001=/ip4/127.2.1.2/tcp/4001/p2p/A', 'p-002=/ip4/127.2.1.3/tcp/4001/p2p/B'],
    announceIp: '10.0.0.7',
    electPromoteProb: 0.33,
    retryAttemptsMax: 0
  }
  const e = configToEnv(changed)
  assert.equal(e.PATCHDAY_PORT, '4123')
  assert.equal(e.PATCHDAY_BOOTSTRAP, 'true')
  assert.deepEqual(parseConfig(e), changed)
  // Every key of a full config has its variable.
  assert.equal(Object.keys(e).length, Object.keys(CONFIG_SPEC).length)
})

test('configToEnv writes only the settings given, skips undefined ones and refuses unknown keys', () => {
  assert.deepEqual(configToEnv({ slotsMax: 7, timeScale: undefined }), { PATCHDAY_SLOTS_MAX: '7' })
  assert.deepEqual(configToEnv({ bootstrapAddrs: [] }), { PATCHDAY_BOOTSTRAP_ADDRS: '' })
  assertConfigError(() => configToEnv({ slotMax: 7 } as unknown as Partial<PeerConfig>), 'slotMax')
})

test('every setting has a unique PATCHDAY_ variable, and envName and configRows agree with the spec', () => {
  const envs = Object.values(CONFIG_SPEC).map(s => s.env)
  assert.equal(new Set(envs).size, envs.length)
  for (const e of envs) assert.match(e, /^PATCHDAY_[A-Z0-9_]+$/)
  assert.equal(envName('slotsMax'), 'PATCHDAY_SLOTS_MAX')
  const rows = configRows()
  assert.deepEqual(rows.map(r => r[0]), Object.keys(CONFIG_SPEC))
  assert.deepEqual(rows.find(r => r[0] === 'port'), ['port', 'PATCHDAY_PORT', '4001', '1..65535'])
  assert.deepEqual(rows.find(r => r[0] === 'runId'), ['runId', 'PATCHDAY_RUN_ID', '(required)', 'string'])
  assert.deepEqual(rows.find(r => r[0] === 'role'), ['role', 'PATCHDAY_ROLE', '(required)', 'peer \\| login'])
  assert.deepEqual(rows.find(r => r[0] === 'bootstrap'), ['bootstrap', 'PATCHDAY_BOOTSTRAP', 'false', 'bool'])
})

test('an empty value for a required setting without a pattern is refused', () => {
  assertConfigError(() => parseConfig(env({ PATCHDAY_STATE_DIR: '' })), 'PATCHDAY_STATE_DIR')
})

test('a parsed config does not share its list default with the schema or with other configs', () => {
  const def = (CONFIG_SPEC.bootstrapAddrs as { def?: string[] }).def ?? []
  const before = def.slice()
  const a = parseConfig(env())
  a.bootstrapAddrs.push('p-009=/ip4/127.2.1.10/tcp/4001')
  try {
    assert.deepEqual(parseConfig(env()).bootstrapAddrs, before)
  } finally {
    // Undo the mutation (if it reached the schema) so that other tests see the real default.
    def.splice(0, def.length, ...before)
  }
})
