import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import type { EventName, EventPayloads } from '../../node/contract/events.ts'
import type { ProcessSpec, ProcessStatus, ProcessControl, StopOutcome } from '../../orchestrator/runtime/runtime.ts'
import { executeStorm, type StormJournal, type ExecuteOptions, type StormProgress } from '../../orchestrator/storm/execute.ts'
import { planStorm, type StormOp, type StormPlan } from '../../orchestrator/storm/plan.ts'
import { realClock, type StormClock } from '../../orchestrator/storm/clock.ts'

/** A discrete-event clock: time moves only when every pending promise is waiting on a timer. */
class FakeClock implements StormClock {
  private t = 0
  private seq = 0
  private timers: Array<{ at: number, seq: number, fire: (v: boolean) => void }> = []

  now = (): number => this.t

  sleep = async (ms: number, signal?: AbortSignal): Promise<boolean> => await new Promise<boolean>(resolve => {
    if (signal?.aborted === true) { resolve(false); return }
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fire: resolve }
    this.timers.push(timer)
    signal?.addEventListener('abort', () => {
      this.timers = this.timers.filter(x => x !== timer)
      resolve(false)
    }, { once: true })
  })

  /** Call fn at fake time `at`. */
  at (at: number, fn: () => void): void {
    void this.sleep(at - this.t).then(fn)
  }

  /** Drive `work` to completion, advancing time whenever everything waits. */
  async run<T> (work: Promise<T>): Promise<T> {
    let settled = false
    work.then(() => { settled = true }, () => { settled = true })
    for (let i = 0; i < 100_000; i++) {
      await tick()
      if (settled) return await work
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const next = this.timers.shift()
      if (next === undefined) throw new Error('deadlock: nothing to wait for and the work is not done')
      this.t = Math.max(this.t, next.at)
      next.fire(true)
    }
    throw new Error('too many steps')
  }
}

type Call = { t: number, call: 'start' | 'stop' | 'kill', name: string }

class FakeRuntime implements ProcessControl {
  readonly name = 'fake'
  readonly running: Set<string>
  readonly calls: Call[] = []
  stopMs = 300
  startMs = 100
  readonly hang = new Set<string>()
  readonly failStart = new Set<string>()
  private readonly clock: StormClock

  constructor (clock: StormClock, names: string[]) {
    this.clock = clock
    this.running = new Set(names)
  }

  async start (spec: ProcessSpec): Promise<void> {
    this.calls.push({ t: this.clock.now(), call: 'start', name: spec.name })
    await this.clock.sleep(this.startMs)
    if (this.failStart.has(spec.name)) throw new Error(`cannot spawn ${spec.name}`)
    if (this.running.has(spec.name)) throw new Error(`${spec.name} is already running`)
    this.running.add(spec.name)
  }

  async stop (name: string): Promise<StopOutcome> {
    this.calls.push({ t: this.clock.now(), call: 'stop', name })
    if (this.hang.has(name)) await new Promise(() => {})
    await this.clock.sleep(this.stopMs)
    return this.running.delete(name) ? 'stopped' : 'absent'
  }

  async kill (name: string): Promise<StopOutcome> {
    this.calls.push({ t: this.clock.now(), call: 'kill', name })
    await this.clock.sleep(10)
    return this.running.delete(name) ? 'killed' : 'absent'
  }

  async list (): Promise<ProcessStatus[]> { return [...this.running].map(name => ({ name, running: true })) }
  logFile (name: string): string { return `/dev/null/${name}` }
}

type Line = { ev: EventName } & Record<string, unknown>
class MemoryJournal implements StormJournal {
  readonly lines: Line[] = []
  event<E extends EventName> (ev: E, fields: EventPayloads[E]): void { this.lines.push({ ev, ...fields }) }
  ops (): Array<EventPayloads['storm.op']> { return this.lines.filter(l => l.ev === 'storm.op') as unknown as Array<EventPayloads['storm.op']> }
}

const names = ['p-001', 'p-002', 'p-003', 'p-004']

function plan (ops: StormOp[], graceMs = 5000): StormPlan {
  const targets = [...new Set(ops.map(o => o.target))].sort()
  return {
    stormId: 'test',
    seed: 'seed',
    spec: { id: 'test', targets: targets.join(','), shape: { kind: 'all-at-once' }, shutdown: 'graceful', graceMs, bootDelay: { kind: 'fixed', ms: 0 } },
    targets,
    ops,
    windowMs: 0,
    endMs: Math.max(0, ...ops.map(o => o.at)),
    graceMs
  }
}

function setup (): { clock: FakeClock, runtime: FakeRuntime, journal: MemoryJournal, opts: ExecuteOptions } {
  const clock = new FakeClock()
  const runtime = new FakeRuntime(clock, names)
  return { clock, runtime, journal: new MemoryJournal(), opts: { clock, specFor: name => ({ name, env: {} }) } }
}

test('journal: storm.plan first, every op invoked then ok, storm.end last; each stop precedes its start', async () => {
  const { clock, runtime, journal, opts } = setup()
  const p = planStorm('s', {
    id: 'pd', targets: 'all', shape: { kind: 'uniform', windowMs: 10_000 }, shutdown: 'graceful', graceMs: 5000, bootDelay: { kind: 'uniform', minMs: 2000, maxMs: 8000 }
  }, names.map(name => ({ name, role: 'client' as const })))
  const result = await clock.run(executeStorm(p, runtime, journal, opts))
  assert.equal(journal.lines[0]?.ev, 'storm.plan')
  assert.deepEqual(journal.lines[0], { ev: 'storm.plan', stormId: 'pd', ops: 8, targets: 4, windowMs: 10_000, shape: 'uniform', seed: 's' })
  assert.deepEqual(journal.lines.at(-1), { ev: 'storm.end', stormId: 'pd', ok: 8, failed: 0 })
  const ops = journal.ops()
  assert.equal(ops.length, 16)
  for (const o of p.ops) {
    const mine = ops.filter(e => e.target === o.target && e.op === o.op)
    assert.deepEqual(mine.map(e => e.status), ['invoked', 'ok'])
    assert.ok(mine.every(e => e.plannedMs === o.at && e.lateMs === 0), 'on time with ample concurrency')
  }
  for (const t of names) {
    const idx = (status: string, op: string): number => ops.findIndex(e => e.target === t && e.op === op && e.status === status)
    assert.ok(idx('ok', 'stop') < idx('invoked', 'start'), t)
  }
  assert.deepEqual([...runtime.running].sort(), names)
  assert.equal(result.ok, 8)
  assert.equal(result.aborted, false)
})

test('lateness: ops queued behind the concurrency bound run late, and say by how much', async () => {
  const { clock, runtime, journal, opts } = setup()
  runtime.stopMs = 1000
  const p = plan(names.map(target => ({ at: 0, op: 'stop' as const, target })))
  const result = await clock.run(executeStorm(p, runtime, journal, { ...opts, concurrencyMax: 1 }))
  const invoked = journal.ops().filter(e => e.status === 'invoked')
  assert.deepEqual(invoked.map(e => e.lateMs), [0, 1000, 2000, 3000])
  assert.deepEqual(invoked.map(e => e.plannedMs), [0, 0, 0, 0])
  assert.equal(result.ok, 4)
})

test('lateness: a start waits for its own stop to finish', async () => {
  const { clock, runtime, journal, opts } = setup()
  runtime.stopMs = 3000
  const p = plan([{ at: 100, op: 'stop', target: 'p-001' }, { at: 1100, op: 'start', target: 'p-001' }])
  await clock.run(executeStorm(p, runtime, journal, opts))
  const start = journal.ops().find(e => e.op === 'start' && e.status === 'invoked')
  assert.equal(start?.lateMs, 2000)
  assert.deepEqual(runtime.calls.map(c => [c.call, c.t]), [['stop', 100], ['start', 3100]])
})

test('a runtime error fails the op, is journalled with its error, and the storm goes on', async () => {
  const { clock, runtime, journal, opts } = setup()
  runtime.failStart.add('p-002')
  const p = plan(['p-001', 'p-002', 'p-003'].flatMap(target => [{ at: 0, op: 'kill' as const, target }, { at: 500, op: 'start' as const, target }]))
  const result = await clock.run(executeStorm(p, runtime, journal, opts))
  const failed = journal.ops().filter(e => e.status === 'failed')
  assert.equal(failed.length, 1)
  assert.equal(failed[0]?.target, 'p-002')
  assert.match(failed[0]?.error ?? '', /cannot spawn/)
  assert.equal(result.failed, 1)
  assert.equal(result.ok, 5)
  assert.deepEqual(journal.lines.at(-1), { ev: 'storm.end', stormId: 'test', ok: 5, failed: 1 })
})

test('every op has a timeout; a stop that hangs fails and its start is still tried', async () => {
  const { clock, runtime, journal, opts } = setup()
  runtime.hang.add('p-001')
  const p = plan([{ at: 0, op: 'stop', target: 'p-001' }, { at: 1000, op: 'start', target: 'p-001' }], 2000)
  const result = await clock.run(executeStorm(p, runtime, journal, opts))
  const stop = journal.ops().find(e => e.op === 'stop' && e.status === 'failed')
  assert.match(stop?.error ?? '', /timed out after 17000ms/)
  // The target is still running (the stop never finished), so the start fails too: journalled, not skipped.
  assert.deepEqual(runtime.calls.map(c => [c.call, c.t]), [['stop', 0], ['start', 17_000]])
  assert.equal(result.failed, 2)
})

test('abort midway restarts every target already stopped, early, and skips the rest', async () => {
  const { clock, runtime, journal, opts } = setup()
  const ops: StormOp[] = names.flatMap((target, i) => [{ at: i * 1000, op: 'stop' as const, target }, { at: i * 1000 + 5000, op: 'start' as const, target }])
  const abort = new AbortController()
  clock.at(1500, () => { abort.abort() })
  const result = await clock.run(executeStorm(plan(ops.sort((a, b) => a.at - b.at)), runtime, journal, { ...opts, signal: abort.signal }))
  assert.equal(result.aborted, true)
  assert.deepEqual([...runtime.running].sort(), names, 'nobody left down')
  const starts = journal.ops().filter(e => e.op === 'start' && e.status === 'invoked')
  assert.deepEqual(starts.map(e => e.target), ['p-001', 'p-002'])
  assert.ok(starts.every(e => e.lateMs < 0), 'healing starts ran before their planned time')
  assert.equal(result.skipped, 4)
  assert.deepEqual(result.leftStopped, [])
  assert.equal(journal.lines.at(-1)?.ev, 'storm.end')
})

test('abort with leave-stopped leaves the stopped targets down and lists them', async () => {
  const { clock, runtime, journal, opts } = setup()
  const ops: StormOp[] = names.flatMap((target, i) => [{ at: i * 1000, op: 'stop' as const, target }, { at: i * 1000 + 5000, op: 'start' as const, target }])
  const abort = new AbortController()
  clock.at(1500, () => { abort.abort() })
  const result = await clock.run(executeStorm(plan(ops.sort((a, b) => a.at - b.at)), runtime, journal, { ...opts, signal: abort.signal, onAbort: 'leave-stopped' }))
  assert.deepEqual(result.leftStopped, ['p-001', 'p-002'])
  assert.deepEqual([...runtime.running].sort(), ['p-003', 'p-004'])
  assert.equal(result.skipped, 6)
})

test('progress is reported after every op', async () => {
  const { clock, runtime, journal, opts } = setup()
  const seen: StormProgress[] = []
  const p = plan(names.flatMap(target => [{ at: 0, op: 'kill' as const, target }, { at: 100, op: 'start' as const, target }]))
  await clock.run(executeStorm(p, runtime, journal, { ...opts, onProgress: pr => { seen.push(pr) } }))
  assert.deepEqual(seen.map(s => s.done), [1, 2, 3, 4, 5, 6, 7, 8])
  assert.ok(seen.every(s => s.total === 8))
  assert.equal(seen.at(-1)?.ok, 8)
})

test('with the real clock: runs on time within a tolerance, and abort stops waiting at once', async () => {
  const runtime = new FakeRuntime(realClock, names)
  runtime.stopMs = 5
  runtime.startMs = 5
  const journal = new MemoryJournal()
  const p = plan(names.flatMap((target, i) => [{ at: i * 20, op: 'stop' as const, target }, { at: i * 20 + 30, op: 'start' as const, target }]))
  const result = await executeStorm(p, runtime, journal, { specFor: name => ({ name, env: {} }) })
  assert.equal(result.ok, 8)
  for (const e of journal.ops()) assert.ok(e.lateMs >= 0 && e.lateMs < 200, `late ${e.lateMs}`)
  const abort = new AbortController()
  const t0 = performance.now()
  setTimeout(() => { abort.abort() }, 20)
  const far = plan([{ at: 0, op: 'stop', target: 'p-001' }, { at: 60_000, op: 'start', target: 'p-001' }])
  const r2 = await executeStorm(far, runtime, journal, { specFor: name => ({ name, env: {} }), signal: abort.signal })
  assert.ok(performance.now() - t0 < 2000)
  assert.equal(r2.aborted, true)
  assert.ok(runtime.running.has('p-001'))
})
