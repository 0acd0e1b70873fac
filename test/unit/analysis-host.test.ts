import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkHost, type HostSample } from '../../orchestrator/analysis/host.ts'
import { analyseRun } from '../../orchestrator/analysis/report.ts'
import { FIXTURE_NAMES, loadFixture } from '../fixtures/analysis/load.ts'

for (const name of FIXTURE_NAMES) {
  test(`host check of ${name}`, async () => {
    const f = await loadFixture(name)
    const h = analyseRun(f.meta, f.events).host
    assert.equal(h.hostSaturated, f.expected.hostSaturated)
    assert.equal(h.samples, 90) // 60..150 s: storm + observation, or the calm run after warm-up
    assert.equal(h.cores, 2)
    assert.ok((h.cpuBusyMax as number) <= 1 && (h.cpuBusyMean as number) > 0)
    if (name === 'host-saturated') {
      assert.ok((h.busyShare as number) >= 0.4, `busy share ${h.busyShare}`)
      assert.ok((h.cpuBusyMax as number) >= 0.93)
    } else {
      assert.equal(h.busyShare, 0)
    }
  })
}

const samples = (cpu: number[]): HostSample[] => cpu.map((c, i) => ({ time: i * 1000, cpuBusy: c, load1: c * 4, cores: 4 }))

test('saturated at 20% busy samples by default; both thresholds are parameters', () => {
  const s = samples([0.95, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.92])
  const h = checkHost(s, 0, 10_000)
  assert.equal(h.hostSaturated, true)
  assert.equal(h.busyShare, 0.2)
  assert.equal(h.cpuBusyMax, 0.95)
  assert.ok(Math.abs((h.cpuBusyMean as number) - 0.267) < 1e-9)
  assert.equal(h.load1Max, 3.8)
  assert.equal(checkHost(s, 0, 10_000, { saturatedShare: 0.3 }).hostSaturated, false)
  assert.equal(checkHost(s, 0, 10_000, { busyThreshold: 0.93 }).hostSaturated, false)
  // Only the window counts.
  assert.equal(checkHost(s, 1000, 9000).hostSaturated, false)
})

test('no samples: not flagged, and the note says it is unknown', () => {
  const h = checkHost([], 0, 1000)
  assert.equal(h.hostSaturated, false)
  assert.equal(h.busyShare, null)
  assert.equal(h.cpuBusyMean, null)
  assert.match(h.note, /unknown/)
})
