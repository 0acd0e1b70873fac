import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyModels, settingsForPeer, modelRows, modelKeys, MODELS, MODEL_NAMES, type ModelSelection } from '../../orchestrator/scenario/models.ts'
import type { PeerConfig } from '../../node/contract/config.ts'

const peers = Array.from({ length: 40 }, (_, i) => `p-${String(i + 1).padStart(3, '0')}`)
const ctx = { peers, seed: 'models' }
const apply = (m: ModelSelection, base: Partial<PeerConfig> = {}): ReturnType<typeof applyModels> => applyModels(m, base, ctx)

test('each model sets its documented settings', () => {
  const expected: Record<string, Partial<PeerConfig>> = {
    'slot-leak': { pendingSlotDeadlineMs: 0 },
    'promotion-stall': { electMinUptimeMs: 120_000, electShortageBypassUptime: false },
    'immediate-retries': { retryPolicy: 'fixed', retryBaseMs: 1000, retryHonorHint: false },
    'slot-reclaim': { pendingSlotDeadlineMs: 15_000 },
    'demand-promotion': { electShortageBypassUptime: true },
    'jittered-backoff': { retryPolicy: 'full-jitter', retryBaseMs: 1000, retryCapMs: 60_000 },
    'admission-control': { retryHonorHint: true, loginOverflow: 'busy', loginQueueMax: 32 },
    'sn-self-protection': { snOverloadThreshold: 2 }
  }
  for (const [name, settings] of Object.entries(expected)) {
    assert.deepEqual(apply({ [name]: {} }).common, settings, name)
    assert.deepEqual(apply({ [name]: {} }).perPeer, {}, name)
  }
  assert.deepEqual(modelKeys('crashing-version'), ['crashReplyThresholdMs'])
})

test('parameters override the defaults; absent ones keep them', () => {
  assert.deepEqual(apply({ 'promotion-stall': { minUptimeMs: 90_000 } }).common.electMinUptimeMs, 90_000)
  assert.deepEqual(apply({ 'slot-reclaim': { deadlineMs: 5000 } }).common, { pendingSlotDeadlineMs: 5000 })
  assert.deepEqual(apply({ 'jittered-backoff': { policy: 'decorrelated', capMs: 20_000 } }).common, { retryPolicy: 'decorrelated', retryBaseMs: 1000, retryCapMs: 20_000 })
  assert.deepEqual(apply({ 'admission-control': { loginQueueMax: 4 } }).common.loginQueueMax, 4)
  assert.deepEqual(apply({ 'immediate-retries': { pauseMs: 2500 } }).common, { retryPolicy: 'fixed', retryBaseMs: 2500, retryHonorHint: false })
})

test('models add to the base settings', () => {
  const a = apply({ 'slot-leak': {}, 'immediate-retries': {} }, { slotsMax: 8 })
  assert.deepEqual(a.common, { slotsMax: 8, pendingSlotDeadlineMs: 0, retryPolicy: 'fixed', retryBaseMs: 1000, retryHonorHint: false })
})

test('a fault and its fix conflict; so do two fixes of different retry behaviour', () => {
  const pairs: Array<[string, string]> = [
    ['slot-leak', 'slot-reclaim'],
    ['promotion-stall', 'demand-promotion'],
    ['immediate-retries', 'jittered-backoff'],
    ['immediate-retries', 'admission-control']
  ]
  for (const [a, b] of pairs) {
    assert.throws(() => apply({ [a]: {}, [b]: {} }), (err: Error & { sources?: string[] }) => {
      return err.name === 'ConflictingModelsError' && err.sources?.includes(a) === true && err.sources.includes(b)
    }, `${a} + ${b}`)
  }
})

test('the 2007 faults combine, and so do the 2007 fixes', () => {
  assert.doesNotThrow(() => apply({ 'slot-leak': {}, 'promotion-stall': {}, 'immediate-retries': {} }))
  assert.doesNotThrow(() => apply({ 'slot-reclaim': {}, 'demand-promotion': {}, 'jittered-backoff': {}, 'admission-control': {} }))
  assert.doesNotThrow(() => apply({ 'crashing-version': {}, 'sn-self-protection': {}, 'jittered-backoff': {} }))
})

test('a model against a different value in settings is a conflict; the same value is not', () => {
  assert.throws(() => apply({ 'slot-leak': {} }, { pendingSlotDeadlineMs: 5000 }), (err: Error & { sources?: string[], key?: string }) =>
    err.name === 'ConflictingModelsError' && err.sources?.[0] === 'settings' && err.key === 'pendingSlotDeadlineMs')
  assert.doesNotThrow(() => apply({ 'slot-leak': {} }, { pendingSlotDeadlineMs: 0 }))
  assert.throws(() => apply({ 'crashing-version': {} }, { crashReplyThresholdMs: 100 }), { name: 'ConflictingModelsError' })
})

test('crashing-version applies to a share of the peers, picked from the seed', () => {
  const a = apply({ 'crashing-version': { share: 0.5, replyThresholdMs: 2500 } })
  assert.equal(a.common.crashReplyThresholdMs, undefined, 'not for everyone')
  const chosen = Object.keys(a.perPeer).sort()
  assert.equal(chosen.length, 20)
  assert.deepEqual(a.picked['crashing-version'], chosen)
  for (const p of chosen) assert.deepEqual(a.perPeer[p], { crashReplyThresholdMs: 2500 })
  const other = peers.find(p => !chosen.includes(p)) ?? ''
  assert.equal(settingsForPeer(a, other).crashReplyThresholdMs, undefined)
  assert.equal(settingsForPeer(a, chosen[0] ?? '').crashReplyThresholdMs, 2500)
  // Deterministic per seed, different across seeds, independent of the peer list's order.
  assert.deepEqual(apply({ 'crashing-version': { share: 0.5 } }).picked, apply({ 'crashing-version': { share: 0.5 } }).picked)
  assert.deepEqual(applyModels({ 'crashing-version': { share: 0.5 } }, {}, { peers: [...peers].reverse(), seed: 'models' }).picked, apply({ 'crashing-version': { share: 0.5 } }).picked)
  assert.notDeepEqual(applyModels({ 'crashing-version': { share: 0.5 } }, {}, { peers, seed: 'other' }).picked, apply({ 'crashing-version': { share: 0.5 } }).picked)
  assert.equal(apply({ 'crashing-version': { share: 0.2 } }).picked['crashing-version']?.length, 8)
  assert.equal(apply({ 'crashing-version': { share: 0 } }).picked['crashing-version']?.length, 0)
})

test('an unknown model name is refused', () => {
  assert.throws(() => apply({ 'slot-leek': {} } as unknown as ModelSelection), { name: 'UsageError' })
})

test('every model documents its mechanism and its threshold', () => {
  assert.equal(modelRows().length, MODEL_NAMES.length)
  for (const name of MODEL_NAMES) {
    const m = MODELS[name]
    assert.ok(m.mechanism.length > 40 && m.threshold.length > 40, name)
    assert.ok(modelKeys(name).length > 0, name)
  }
})
