import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRng } from '../../node/contract/rng.ts'
import { planStorm, scalePlan, summarizePlan, plannedBootDelays, type StormSpec, type StormPlan } from '../../orchestrator/storm/plan.ts'
import { parseBootDelay, sampleBootDelay, bootDelayBounds, formatBootDelay } from '../../orchestrator/storm/boot-delay.ts'
import { parseStormInput } from '../../orchestrator/storm/spec.ts'
import type { TargetPeer } from '../../orchestrator/storm/targets.ts'

const peers: TargetPeer[] = Array.from({ length: 40 }, (_, i) => ({
  name: `p-${String(i + 1).padStart(3, '0')}`,
  role: i < 5 ? 'supernode' : 'client'
}))

const spec = (over: Partial<StormSpec> = {}): StormSpec => ({
  id: 'patch-day',
  targets: 'fraction:0.5',
  shape: { kind: 'uniform', windowMs: 20_000 },
  shutdown: 'graceful',
  graceMs: 5000,
  bootDelay: { kind: 'uniform', minMs: 2000, maxMs: 8000 },
  ...over
})

const stopsOf = (p: StormPlan): Map<string, number> => new Map(p.ops.filter(o => o.op !== 'start').map(o => [o.target, o.at]))

test('the same (seed, spec, peers) gives the same plan; other seeds give other plans', () => {
  assert.deepEqual(planStorm('seed-1', spec(), peers), planStorm('seed-1', spec(), peers))
  assert.notDeepEqual(planStorm('seed-1', spec(), peers).ops, planStorm('seed-2', spec(), peers).ops)
  // The storm id seeds the storm too: two storms of one run differ.
  assert.notDeepEqual(planStorm('seed-1', spec(), peers).ops, planStorm('seed-1', spec({ id: 'second' }), peers).ops)
})

test('every target is stopped once, then started once after its boot delay', () => {
  const p = planStorm('s', spec(), peers)
  assert.equal(p.targets.length, 20)
  assert.equal(p.ops.length, 40)
  for (const t of p.targets) {
    const ops = p.ops.filter(o => o.target === t)
    assert.deepEqual(ops.map(o => o.op), ['stop', 'start'], t)
  }
  for (let i = 1; i < p.ops.length; i++) assert.ok((p.ops[i]?.at ?? 0) >= (p.ops[i - 1]?.at ?? 0), 'ordered by time')
  assert.equal(p.endMs, Math.max(...p.ops.map(o => o.at)))
})

test('uniform: every stop within the window; boot delays within their range', () => {
  for (const seed of ['a', 'b', 'c']) {
    const p = planStorm(seed, spec(), peers)
    assert.equal(p.windowMs, 20_000)
    for (const at of stopsOf(p).values()) assert.ok(at >= 0 && at <= 20_000, String(at))
    for (const d of plannedBootDelays(p).values()) assert.ok(d >= 2000 && d <= 8000, String(d))
    // Spread, not bunched: stops span most of the window.
    const at = [...stopsOf(p).values()]
    assert.ok(Math.max(...at) - Math.min(...at) > 10_000)
  }
})

test('all-at-once: every stop at 0', () => {
  const p = planStorm('s', spec({ shape: { kind: 'all-at-once' }, bootDelay: { kind: 'fixed', ms: 3000 } }), peers)
  assert.equal(p.windowMs, 0)
  for (const at of stopsOf(p).values()) assert.equal(at, 0)
  for (const d of plannedBootDelays(p).values()) assert.equal(d, 3000)
})

test('waves: groups of near-equal size, one after another with the gap between', () => {
  const shape = { kind: 'waves', waves: 3, waveWindowMs: 4000, gapMs: 10_000 } as const
  const p = planStorm('s', spec({ targets: 'all', shape }), peers)
  assert.equal(p.windowMs, 3 * 4000 + 2 * 10_000)
  const byWave = [0, 1, 2].map(w => [...stopsOf(p).values()].filter(at => at >= w * 14_000 && at <= w * 14_000 + 4000).length)
  assert.deepEqual(byWave, [14, 13, 13])
  // Nothing falls into a gap.
  assert.equal(byWave.reduce((a, b) => a + b, 0), 40)
})

test('power cut kills instead of stopping', () => {
  const p = planStorm('s', spec({ shutdown: 'power-cut' }), peers)
  assert.ok(p.ops.every(o => o.op === 'kill' || o.op === 'start'))
  assert.equal(p.ops.filter(o => o.op === 'kill').length, 20)
})

test('changing the boot delay changes neither the targets nor the stop times', () => {
  const a = planStorm('s', spec(), peers)
  const b = planStorm('s', spec({ bootDelay: { kind: 'exponential', meanMs: 5000, minMs: 1000, maxMs: 30_000 } }), peers)
  assert.deepEqual(a.targets, b.targets)
  assert.deepEqual(stopsOf(a), stopsOf(b))
})

test('a storm with no targets is an empty plan', () => {
  const p = planStorm('s', spec({ targets: 'fraction:0' }), peers)
  assert.deepEqual(p.ops, [])
  assert.equal(p.endMs, 0)
  assert.match(summarizePlan(p).join('\n'), /no targets/)
})

test('scalePlan multiplies times by timeScale and leaves grace alone', () => {
  const p = planStorm('s', spec(), peers)
  const q = scalePlan(p, 0.5)
  assert.equal(q.windowMs, 10_000)
  assert.equal(q.graceMs, p.graceMs)
  q.ops.forEach((o, i) => { assert.equal(o.at, Math.round((p.ops[i]?.at ?? 0) * 0.5)) })
  assert.throws(() => scalePlan(p, 0), { name: 'StormSpecError' })
})

test('summary names the storm, its seed, its size and its ops', () => {
  const lines = summarizePlan(planStorm('s', spec(), peers), 4)
  assert.match(lines[0] ?? '', /patch-day.*seed s.*20 peers/)
  assert.equal(lines.length, 2 + 4 + 1)
})

test('boot delay grammar: fixed, range, exp and normal, all bounded', () => {
  assert.deepEqual(parseBootDelay('5s'), { kind: 'fixed', ms: 5000 })
  assert.deepEqual(parseBootDelay('2s..8s'), { kind: 'uniform', minMs: 2000, maxMs: 8000 })
  assert.deepEqual(parseBootDelay('500ms..1.5s'), { kind: 'uniform', minMs: 500, maxMs: 1500 })
  assert.deepEqual(parseBootDelay('exp(5s, 1s..30s)'), { kind: 'exponential', meanMs: 5000, minMs: 1000, maxMs: 30_000 })
  assert.deepEqual(parseBootDelay('normal(10s, 3s, 2s..20s)'), { kind: 'normal', meanMs: 10_000, sdMs: 3000, minMs: 2000, maxMs: 20_000 })
  for (const text of ['5s', '2s..8s', 'exp(5s, 1s..30s)', 'normal(10s, 3s, 2s..20s)']) {
    assert.deepEqual(parseBootDelay(formatBootDelay(parseBootDelay(text))), parseBootDelay(text))
  }
})

test('boot delay samples stay within bounds and follow their distribution', () => {
  const rng = createRng('boot')
  for (const text of ['2s..8s', 'exp(5s, 1s..30s)', 'normal(10s, 3s, 2s..20s)', 'normal(5s, 100s, 4s..6s)']) {
    const d = parseBootDelay(text)
    const { minMs, maxMs } = bootDelayBounds(d)
    const xs = Array.from({ length: 2000 }, () => sampleBootDelay(d, rng))
    for (const x of xs) assert.ok(x >= minMs && x <= maxMs && Number.isInteger(x), `${text}: ${x}`)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    if (text === '2s..8s') assert.ok(Math.abs(mean - 5000) < 250, `${text} mean ${mean}`)
    if (text.startsWith('normal(10s')) assert.ok(Math.abs(mean - 10_000) < 300, `${text} mean ${mean}`)
    // Truncation at 1s shifts the mean of exp(5s) up by about 1s.
    if (text.startsWith('exp')) assert.ok(mean > 5000 && mean < 6800, `${text} mean ${mean}`)
  }
})

test('bad boot delays throw StormSpecError', () => {
  for (const text of ['', '5', 'soon', '8s..2s', 'exp(0s, 1s..2s)', 'exp(5s)', 'normal(5s, 0s, 1s..9s)', 'normal(20s, 1s, 1s..9s)', 'gamma(1s, 2s)', '2s..']) {
    assert.throws(() => parseBootDelay(text), { name: 'StormSpecError' }, text)
  }
})

test('storm input from the CLI: validated, defaults applied, fields named in errors', () => {
  const s = parseStormInput({ targets: 'fraction:0.6', shape: 'uniform', window: '20s', bootDelay: '2s..8s' })
  assert.deepEqual(s, {
    id: 'storm',
    targets: 'fraction:0.6',
    shape: { kind: 'uniform', windowMs: 20_000 },
    shutdown: 'graceful',
    graceMs: 5000,
    bootDelay: { kind: 'uniform', minMs: 2000, maxMs: 8000 }
  })
  const part = (input: unknown): string | undefined => {
    try {
      parseStormInput(input)
    } catch (err) {
      assert.equal((err as Error).name, 'StormSpecError')
      return (err as { part?: string }).part
    }
    return undefined
  }
  assert.equal(part({ targets: 'all', shape: 'uniform', bootDelay: '1s' }), 'window')
  assert.equal(part({ targets: 'all', shape: 'sideways', bootDelay: '1s' }), 'shape')
  assert.equal(part({ targets: 'all', shape: 'all-at-once', window: '2s', bootDelay: '1s' }), 'window')
  assert.equal(part({ targets: 'all', shape: 'waves', waves: 3, bootDelay: '1s' }), 'gap')
  assert.equal(part({ targets: 'all', shape: 'all-at-once', bootDelay: '1s', shutdown: 'power-cut', grace: '3s' }), 'grace')
  assert.equal(part({ targets: 'supernode', shape: 'all-at-once', bootDelay: '1s' }), 'targets')
  assert.equal(part({ targets: 'all', shape: 'all-at-once', bootDelay: '2s..1s' }), 'bootDelay')
  assert.equal(part({ targets: 'all', shape: 'uniform', window: '20', bootDelay: '1s' }), 'window')
  assert.equal(part({ targets: 'all', shape: 'all-at-once', bootDelay: '1s', colour: 'red' }), 'colour')
  assert.equal(part({ shape: 'all-at-once', bootDelay: '1s' }), 'targets')
})
