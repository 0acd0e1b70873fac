/**
 * The 2007 story in containers: the shipped skype-2007 scenario, run with one
 * container per peer, is judged metastable, and its tuned twin recovers: the
 * same verdicts as with processes (run --check exits 3 on a mismatch). Storms
 * restart the peer process inside its container (--restart-mode process): a
 * container restart spreads a 2 s storm over tens of seconds on 2 cores, and
 * the tuned twin then recovered or degraded with the host's load; container
 * restarts are covered by compose.test.ts. Each run
 * tears its containers down; the test checks nothing is left. Skipped where no
 * Docker engine runs or the image is not built.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, tempRunsDir, ROOT } from '../helpers/cli.ts'
import { dockerSkipReason, leftovers } from './docker-helpers.ts'

const skip = await dockerSkipReason()
const runsDir = tempRunsDir('compose-scenarios')
after(() => { rmSync(runsDir, { recursive: true, force: true }) })

for (const [file, expect] of [['skype-2007.yaml', 'metastable'], ['skype-2007-tuned.yaml', 'recovered']] as const) {
  test(`${file} in containers is judged ${expect}`, { skip: skip ?? false, timeout: 900_000 }, async () => {
    const runId = `c-${file.replace('.yaml', '')}-${process.pid.toString(36)}`
    const r = await cli(runsDir, ['run', join(ROOT, 'scenarios', file), '--runtime', 'compose', '--restart-mode', 'process', '--run-id', runId, '--json', '--check'], 900_000)
    assert.ok(r.stdout.trim() !== '', `no headline on stdout; exit ${r.code}; ${r.stderr.slice(-3000)}`)
    const headline = JSON.parse(r.stdout) as { verdict: string, expect: string }
    assert.equal(headline.expect, expect)
    assert.equal(headline.verdict, expect, `exit ${r.code}; ${r.stderr.slice(-2000)}`)
    assert.equal(r.code, 0)
    const report = JSON.parse(readFileSync(join(runsDir, runId, 'report.json'), 'utf8')) as { runtime: string, runtimeLag: { storms: Array<{ restartMode: string | null }> } }
    assert.equal(report.runtime, 'compose')
    assert.equal(report.runtimeLag.storms[0]?.restartMode, 'process', 'the report names the restart mode')
    assert.deepEqual(await leftovers(`patchday.run=${runId}`), { containers: 0, networks: 0, volumes: 0 })
  })
}
