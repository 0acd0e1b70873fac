/** `down` stops every peer even when the orchestrator that started them was SIGKILLed mid-start. */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, cli, eventually, tempRunsDir } from '../helpers/cli.ts'
import { findRunProcesses } from '../../orchestrator/runtime/local.ts'

const runsDir = tempRunsDir('down-after-kill')
const runId = 'killed-orchestrator'
after(async () => {
  await cli(runsDir, ['down', '--run', runId, '--grace', '1s'])
  rmSync(runsDir, { recursive: true, force: true })
})

test('down after the orchestrator was killed with SIGKILL leaves nothing running', async () => {
  const child = spawn(process.execPath, [BIN, 'up', '--peers', '16', '--run-id', runId, '--seed', 'k1'], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const pids = join(runsDir, runId, 'pids')
  await eventually('six processes started', 60_000, async () => readdirSync(pids).filter(f => f.endsWith('.json')).length >= 6 ? true : undefined, 50)
  child.kill('SIGKILL')
  await exited
  const orphans = await findRunProcesses(runId)
  assert.ok(orphans.length >= 6, `peers outlive the killed orchestrator (found ${orphans.length})`)

  const down = await cli(runsDir, ['down', '--run', runId, '--grace', '3s'])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, /stopped \d+/)
  assert.deepEqual(await findRunProcesses(runId), [])
})
