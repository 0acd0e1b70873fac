/** Bad input at the CLI and at the peer's environment: a clear message and a non-zero exit. */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync, mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { cliSync, tempRunsDir, ROOT } from '../helpers/cli.ts'

const runsDir = tempRunsDir('cli-errors')
after(() => { rmSync(runsDir, { recursive: true, force: true }) })

test('up refuses bad arguments with exit code 2 and names the option', () => {
  for (const [args, needle] of [
    [['up', '--peers', 'abc'], '--peers'],
    [['up', '--peers', '0'], '--peers'],
    [['up', '--peers', '5', '--timeout', '10'], '--timeout'],
    [['up', '--peers', '5', '--set', 'noSuchSetting=1'], 'noSuchSetting'],
    [['up', '--peers', '5', '--set', 'slotsMax=-3'], 'PATCHDAY_SLOTS_MAX'],
    [['up', '--peers', '5', '--steady-share', '1.5'], '--steady-share'],
    [['up'], '--peers']
  ] as const) {
    const r = cliSync(runsDir, [...args])
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`)
    assert.ok(r.stderr.includes(needle), `${args.join(' ')}: stderr should name ${needle}: ${r.stderr}`)
  }
})

test('commands without a run say so and fail', () => {
  for (const cmd of ['status', 'logs', 'down']) {
    const r = cliSync(runsDir, [cmd])
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`)
    assert.match(r.stderr, /no run/)
  }
  const r = cliSync(runsDir, ['status', '--run', 'nope'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /not found/)
})

test('unknown commands and options exit 2; --help exits 0 and lists every command', () => {
  assert.equal(cliSync(runsDir, ['frobnicate']).code, 2)
  assert.equal(cliSync(runsDir, ['status', '--bogus']).code, 2)
  const help = cliSync(runsDir, ['--help'])
  assert.equal(help.code, 0)
  for (const cmd of ['up', 'status', 'logs', 'down']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`))
  const upHelp = cliSync(runsDir, ['up', '--help'])
  assert.equal(upHelp.code, 0)
  assert.match(upHelp.stdout, /--peers/)
})

test('the peer refuses a bad environment with exit code 2, naming the variable', () => {
  const state = mkdtempSync(join(tmpdir(), 'patchday-peer-env-'))
  try {
    const base = { PATH: process.env.PATH ?? '', PATCHDAY_RUN_ID: 'r1', PATCHDAY_PEER: 'p-001', PATCHDAY_ROLE: 'peer', PATCHDAY_STATE_DIR: state, PATCHDAY_SEED: 's', PATCHDAY_LOGIN_ADDR: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAV3brKHBtHU8xPjf4mB8G58Cg5cf8LDmBE5jwEgbWRJW' }
    for (const [name, value] of [['PATCHDAY_SLOTS_MAX', 'many'], ['PATCHDAY_RETRY_POLICY', 'sometimes'], ['PATCHDAY_TIME_SCALE', '0'], ['PATCHDAY_REACHABLE', 'maybe']] as const) {
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'peer.mjs')], { env: { ...base, [name]: value }, encoding: 'utf8', timeout: 20_000 })
      assert.equal(r.status, 2, `${name}=${value}: exit ${r.status} ${r.stderr}`)
      assert.ok(r.stderr.includes(name), `${name}: ${r.stderr}`)
    }
    const missing = spawnSync(process.execPath, [join(ROOT, 'dist', 'peer.mjs')], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 20_000 })
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /PATCHDAY_RUN_ID/)
  } finally {
    rmSync(state, { recursive: true, force: true })
  }
})
