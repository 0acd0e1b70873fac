import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listRuns } from '../../orchestrator/run/dir.ts'

test('listRuns names only run folders (with run.json), not the compile cache or sweep folders', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-listruns-'))
  try {
    for (const d of ['r2', 'r1', '.cache', 'sweep-x']) mkdirSync(join(dir, d))
    writeFileSync(join(dir, 'r1', 'run.json'), '{}')
    writeFileSync(join(dir, 'r2', 'run.json'), '{}')
    assert.deepEqual(await listRuns(dir), ['r1', 'r2'])
    assert.deepEqual(await listRuns(join(dir, 'missing')), [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
