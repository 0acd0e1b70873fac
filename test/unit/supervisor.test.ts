/**
 * The process restart mode's two halves agree: docker/supervise.sh (run here
 * by the host's sh, with a stand-in peer) writes the state lines that
 * runtime/docker/supervisor.ts parses, and obeys the signals it names.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseSupervisorState, SupervisorFiles, SUPERVISOR_SIGNALS } from '../../orchestrator/runtime/docker/supervisor.ts'

const ROOT = join(import.meta.dirname, '..', '..')

test('parseSupervisorState reads the two line forms and refuses anything else', () => {
  assert.deepEqual(parseSupervisorState('running 3 41\n'), { state: 'running', starts: 3, pid: 41 })
  assert.deepEqual(parseSupervisorState('exited 2 137\n'), { state: 'exited', starts: 2, exitCode: 137 })
  for (const bad of ['', 'running', 'running 1', 'exited x 1\n', 'running 1 2 3\n', 'stopped 1 0\n', 'running 1 2\nexited 1 0\n']) {
    assert.equal(parseSupervisorState(bad), null, JSON.stringify(bad))
  }
})

test('supervise.sh: stop, start, kill and leave, each reported in its state file', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-supervise-'))
  const host = readFileSync('/etc/hostname', 'utf8').trim()
  // The stand-in peer exits 0 on SIGTERM, as the real one does after a clean shutdown, and says
  // "ready" once its trap is set (a SIGTERM before that kills it: 143, as it would a booting node).
  const sv = spawn('sh', [join(ROOT, 'docker/supervise.sh'), 'sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 0.05; done'], { env: { ...process.env, PATCHDAY_CTL_DIR: dir }, stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  let readies = 0
  sv.stdout.on('data', (b: Buffer) => { readies += b.toString().split('ready').length - 1 })
  const ready = async (n: number): Promise<void> => {
    const until = Date.now() + 5000
    while (readies < n) {
      if (Date.now() > until) throw new Error(`the stand-in peer said ready ${readies} times, ${n} expected`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
  const files = new SupervisorFiles(dir)
  const signal = (s: NodeJS.Signals): void => { sv.kill(s) }
  try {
    const first = await files.waitFor(host, s => s.state === 'running', 5000, 'first start')
    assert.equal(first?.state === 'running' ? first.starts : -1, 1)
    await ready(1)
    signal(SUPERVISOR_SIGNALS.stop)
    assert.deepEqual(await files.waitFor(host, s => s.state === 'exited', 5000, 'stop'), { state: 'exited', starts: 1, exitCode: 0 })
    signal(SUPERVISOR_SIGNALS.start)
    const second = await files.waitFor(host, s => s.state === 'running' && s.starts === 2, 5000, 'second start')
    assert.equal(second?.state, 'running')
    await ready(2)
    signal(SUPERVISOR_SIGNALS.kill)
    assert.deepEqual(await files.waitFor(host, s => s.state === 'exited' && s.starts === 2, 5000, 'kill'), { state: 'exited', starts: 2, exitCode: 137 })
    // A start while stopped, then docker stop's SIGTERM: the peer stops and the supervisor leaves with its code.
    signal(SUPERVISOR_SIGNALS.start)
    await files.waitFor(host, s => s.state === 'running' && s.starts === 3, 5000, 'third start')
    await ready(3)
    const exit = new Promise<number | null>(resolve => { sv.once('exit', code => { resolve(code) }) })
    signal('SIGTERM')
    assert.equal(await exit, 0)
    assert.deepEqual((await files.read(host)).state, { state: 'exited', starts: 3, exitCode: 0 })
  } finally {
    // The whole group (its own, detached): the supervisor, the stand-in and any sleep they
    // started, which would otherwise hold the stdout pipe open and keep this test file alive.
    try { process.kill(-(sv.pid ?? 0), 'SIGKILL') } catch { /* already gone */ }
    sv.stdout.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('supervise.sh with PATCHDAY_ENV_KEY=container-id names its state file after the short container id from its mountinfo (host-network containers share a hostname)', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-supervise-id-'))
  const ctl = join(dir, 'ctl')
  const id = 'ab12cd34ef56' + '0'.repeat(52)
  const mountinfo = join(dir, 'mountinfo')
  writeFileSync(mountinfo, [
    '1360 1359 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X',
    '1365 1360 8:1 /var/lib/docker/containers/short/resolv.conf /etc/resolv.conf rw - ext4 /dev/sda1 rw',
    `1366 1360 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`
  ].join('\n') + '\n')
  const run = async (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> => {
    const sv = spawn('sh', [join(ROOT, 'docker/supervise.sh'), 'sh', '-c', 'exit 3'], { env: { ...process.env, PATCHDAY_CTL_DIR: ctl, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
    let stderr = ''
    sv.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
    try {
      // A supervisor whose peer exited waits for a signal: the state file is the answer.
      const files = new SupervisorFiles(ctl)
      const until = Date.now() + 5000
      for (;;) {
        if (sv.exitCode !== null) return { code: sv.exitCode, stderr }
        if (readdirSync(ctl).length > 0 && (await files.read(readdirSync(ctl)[0] as string)).state?.state === 'exited') return { code: null, stderr }
        if (Date.now() > until) throw new Error(`no state file in ${ctl}: ${stderr}`)
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    } finally {
      try { process.kill(-(sv.pid ?? 0), 'SIGKILL') } catch { /* already gone */ }
      sv.stderr.destroy()
    }
  }
  try {
    mkdirSync(ctl)
    assert.deepEqual(await run({ PATCHDAY_ENV_KEY: 'container-id', PATCHDAY_MOUNTINFO: mountinfo }), { code: null, stderr: '' })
    assert.deepEqual(readdirSync(ctl), ['ab12cd34ef56'])
    assert.deepEqual((await new SupervisorFiles(ctl).read('ab12cd34ef56')).state, { state: 'exited', starts: 1, exitCode: 3 })
    // No id to be found: it refuses at once (exit 2), rather than write a file nobody reads.
    rmSync(join(ctl, 'ab12cd34ef56'))
    writeFileSync(mountinfo, '1361 1360 0:55 / /proc rw - proc proc rw\n')
    const none = await run({ PATCHDAY_ENV_KEY: 'container-id', PATCHDAY_MOUNTINFO: mountinfo })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no container id/)
    assert.deepEqual(readdirSync(ctl), [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
