/**
 * PATCHDAY_ENV_FILE end to end: the peer program (node/main.ts, run from source)
 * merges its host's entry over the environment before it parses the config, and
 * a missing file or a missing entry ends it with exit code 2 and one line naming
 * the file and the host name.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../node/main.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'patchday-env-file-'))
after(() => { rmSync(dir, { recursive: true, force: true }) })

const BASE: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  PATCHDAY_RUN_ID: 'env-file',
  PATCHDAY_SEED: 's',
  PATCHDAY_STATE_DIR: join(dir, 'state'),
  PATCHDAY_LISTEN_IP: '127.3.12.1',
  PATCHDAY_PORT: '4001'
}

function run (env: Record<string, string>): { status: number | null, stderr: string } {
  const r = spawnSync(process.execPath, [MAIN], { env: { ...BASE, ...env }, encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, stderr: r.stderr }
}

function assertRefused (r: { status: number | null, stderr: string }, mustName: string[]): void {
  assert.equal(r.status, 2, r.stderr)
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
  for (const s of mustName) assert.ok(r.stderr.includes(s), `names ${s}: ${r.stderr}`)
}

test('a missing env file: exit 2, naming the file and this host', () => {
  const file = join(dir, 'absent.json')
  assertRefused(run({ PATCHDAY_ENV_FILE: file }), ['PATCHDAY_ENV_FILE', file, JSON.stringify(hostname())])
})

test('no entry for this host, or bad JSON: exit 2, naming the file (and the host)', () => {
  const file = join(dir, 'others.json')
  writeFileSync(file, JSON.stringify({ [`not-${hostname()}`]: { PATCHDAY_PEER: 'p-001' } }))
  assertRefused(run({ PATCHDAY_ENV_FILE: file }), ['PATCHDAY_ENV_FILE', file, JSON.stringify(hostname())])
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, '{ "a": ')
  assertRefused(run({ PATCHDAY_ENV_FILE: bad }), ['PATCHDAY_ENV_FILE', bad])
})

test('the entry is merged before the config is parsed: a bad value in it is named', () => {
  const file = join(dir, 'bad-value.json')
  writeFileSync(file, JSON.stringify({ [hostname()]: { PATCHDAY_CAPACITY_CLASS: '9' } }))
  assertRefused(run({ PATCHDAY_ENV_FILE: file, PATCHDAY_PEER: 'p-001', PATCHDAY_ROLE: 'peer', PATCHDAY_LOGIN_ADDR: '/dns4/login/tcp/4000' }), ['PATCHDAY_CAPACITY_CLASS'])
})

test('a login server whose name, role and secret come from its entry boots and stops cleanly', async () => {
  const file = join(dir, 'login.json')
  writeFileSync(file, JSON.stringify({ [hostname()]: { PATCHDAY_PEER: 'login', PATCHDAY_ROLE: 'login', PATCHDAY_LAB_SECRET: 'env-file-lab-secret' } }))
  // The environment says otherwise: the entry wins.
  const child = spawn(process.execPath, [MAIN], { env: { ...BASE, PATCHDAY_ENV_FILE: file, PATCHDAY_PEER: 'p-001', PATCHDAY_ROLE: 'peer' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  const deadline = Date.now() + 20_000
  while (!stdout.includes('"ev":"boot"') && Date.now() < deadline && child.exitCode === null) await new Promise(resolve => setTimeout(resolve, 50))
  child.kill('SIGTERM')
  const code = await exited
  const boot = stdout.split('\n').filter(l => l.includes('"ev":"boot"')).map(l => JSON.parse(l) as Record<string, unknown>)
  assert.equal(boot.length, 1, `stdout: ${stdout}\nstderr: ${stderr}`)
  assert.equal(boot[0]?.peer, 'login')
  assert.equal(boot[0]?.role, 'login')
  assert.equal(code, 0, stderr)
})
