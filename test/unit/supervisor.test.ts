/**
 * The process restart mode's two halves agree: docker/supervise.sh (run here
 * by the host's sh, with a stand-in peer) writes the state lines that
 * runtime/docker/supervisor.ts parses, and obeys the signals it names.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
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
