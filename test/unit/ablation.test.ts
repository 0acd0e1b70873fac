/**
 * Fix ablation: the plan as a pure function, every variant of the shipped
 * skype-2007 scenario compiles (a fix replaces the fault it repairs and the
 * settings it owns), the table's findings, and the command on a fake runner
 * (no network) including a resumed run.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ablationPlan, applyFixes, eraFixes, fixesOf, findings, formatAblation, summarize, type AblationRow } from '../../orchestrator/scenario/ablation.ts'
import { compileScenario } from '../../orchestrator/scenario/compile.ts'
import { loadScenarioFile } from '../../orchestrator/scenario/load.ts'
import { ablate, type AblationResult, type VariantRunner } from '../../orchestrator/commands/ablate.ts'
import type { ModelName } from '../../orchestrator/scenario/models.ts'
import { ROOT } from '../helpers/cli.ts'

const FIXES_2007: ModelName[] = ['slot-reclaim', 'demand-promotion', 'jittered-backoff', 'admission-control']

test('the plan: none, all, each fix alone, all but each; no duplicates', () => {
  const p = ablationPlan(FIXES_2007)
  assert.deepEqual(p.map(v => v.id), ['none', 'all', ...FIXES_2007.map(f => `only:${f}`), ...FIXES_2007.map(f => `without:${f}`)])
  assert.deepEqual(p.find(v => v.id === 'without:jittered-backoff')?.fixes, ['slot-reclaim', 'demand-promotion', 'admission-control'])
  // One fix: "only" is "all" and "without" is "none".
  assert.deepEqual(ablationPlan(['slot-reclaim']).map(v => v.id), ['none', 'all'])
  assert.throws(() => ablationPlan([]), RangeError)
  assert.deepEqual(Object.keys(eraFixes(2007)), FIXES_2007)
})

test('every variant of skype-2007 compiles: a fix replaces the fault it repairs and the settings it owns', async () => {
  const s = (await loadScenarioFile(join(ROOT, 'scenarios/skype-2007.yaml'))).scenario
  const fixes = fixesOf((await loadScenarioFile(join(ROOT, 'scenarios/skype-2007-tuned.yaml'))).scenario.models)
  assert.deepEqual(Object.keys(fixes), FIXES_2007)
  for (const v of ablationPlan(FIXES_2007)) {
    const sc = applyFixes(s, fixes, v.fixes)
    assert.doesNotThrow(() => compileScenario(sc, 's'), v.id)
    assert.equal(sc.expect, undefined, 'a variant has no expected verdict of its own')
  }
  const none = applyFixes(s, fixes, [])
  assert.deepEqual(Object.keys(none.models).sort(), Object.keys(s.models).sort(), 'no fix: the faults as they are')
  const reclaim = applyFixes(s, fixes, ['slot-reclaim'])
  assert.equal(reclaim.models['slot-leak'], undefined, 'slot-reclaim replaces slot-leak')
  assert.deepEqual(reclaim.models['slot-reclaim'], { deadlineMs: 15000 })
  const admission = applyFixes(s, fixes, ['admission-control'])
  assert.equal(admission.models['immediate-retries'], undefined, 'admission-control sets retryHonorHint, as immediate-retries does')
  assert.equal(admission.settings.loginQueueMax, undefined, 'the scenario\'s own loginQueueMax gives way')
  assert.equal(admission.settings.loginServiceMs, s.settings.loginServiceMs, 'other settings stay')
})

const row = (variant: string, fixes: ModelName[], trial: number, verdict: AblationRow['verdict'], recoveryS: number | null = null): AblationRow =>
  ({ variant, fixes, trial, seed: `s-t${trial}`, runId: `r-${variant}-${trial}`, verdict, recoveryS, hostSaturated: false })

test('findings: which fix suffices alone, which is necessary', () => {
  const fx: ModelName[] = ['slot-reclaim', 'jittered-backoff']
  // Two fixes: "without slot-reclaim" is "only jittered-backoff", and the plan runs it once.
  const rows = [
    row('none', [], 1, 'metastable'), row('none', [], 2, 'metastable'),
    row('all', fx, 1, 'recovered', 10), row('all', fx, 2, 'recovered', 14),
    row('only:slot-reclaim', ['slot-reclaim'], 1, 'recovered', 20), row('only:slot-reclaim', ['slot-reclaim'], 2, 'recovered', 30), row('only:slot-reclaim', ['slot-reclaim'], 3, 'never-formed'),
    row('only:jittered-backoff', ['jittered-backoff'], 1, 'metastable'), row('only:jittered-backoff', ['jittered-backoff'], 2, 'recovered', 50)
  ]
  const summary = summarize(ablationPlan(fx), rows)
  const f = findings(fx, summary)
  assert.deepEqual(f.sufficient, ['slot-reclaim'], 'a trial that never formed is not a failure to recover')
  assert.deepEqual(f.necessary, ['slot-reclaim'], 'without it (jittered-backoff alone) one trial stayed metastable')
  assert.equal(f.allRecover, true)
  assert.equal(f.noneRecovers, true)
  assert.deepEqual(summary.find(s => s.variant === 'all')?.recoveryS, { min: 10, median: 10, max: 14 })
  const table = formatAblation(fx, summary)
  assert.match(table, /^only:slot-reclaim\ton\t-\t2R 1N\t20\.0 \/ 20\.0 \/ 30\.0$/m)
  assert.match(table, /^none\t-\t-\t2M\t-$/m)
  assert.match(table, /sufficient alone \(every trial recovered\): slot-reclaim/)
  // Four fixes: no fix suffices, two are necessary.
  const four = ablationPlan(FIXES_2007)
  const rows4 = four.flatMap(v => [1, 2].map(t => row(v.id, v.fixes, t, v.fixes.includes('slot-reclaim') && v.fixes.includes('admission-control') ? 'recovered' : 'metastable', 9)))
  const f4 = findings(FIXES_2007, summarize(four, rows4))
  assert.deepEqual(f4.sufficient, [])
  assert.deepEqual(f4.necessary, ['slot-reclaim', 'admission-control'])
})

test('the command on a fake runner: every variant x trial once, seeds shared across variants, a stopped ablation resumes', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'patchday-ablate-'))
  try {
    const seen: Array<{ runId: string, seed: string, models: string[] }> = []
    // Recovers when slot-reclaim is on, else metastable.
    const fake: VariantRunner = async (sc, seed, runId) => {
      seen.push({ runId, seed, models: Object.keys(sc.models) })
      if (seen.length === 7) throw Object.assign(new Error('stopped'), { name: 'AbortError' })
      return sc.models['slot-reclaim'] !== undefined ? { verdict: 'recovered', recoveryS: 12, hostSaturated: false } : { verdict: 'metastable', recoveryS: null, hostSaturated: false }
    }
    const args = { runsDir: runs, file: join(ROOT, 'scenarios/skype-2007.yaml'), fixesFile: join(ROOT, 'scenarios/skype-2007-tuned.yaml'), trials: 2, deadlineMs: 1000, bootingMax: 8 }
    await assert.rejects(ablate(args, fake), /stopped/)
    const id = readdirSync(runs)[0] as string
    const partial = JSON.parse(readFileSync(join(runs, id, 'ablation.json'), 'utf8')) as AblationResult
    assert.equal(partial.rows.length, 6)
    const r = await ablate({ ...args, resume: id }, fake)
    assert.equal(r.result.rows.length, 10 * 2)
    assert.equal(seen.length, 7 + 14, 'the 6 finished runs were not run again')
    assert.equal(new Set(r.result.rows.map(x => x.runId)).size, 20)
    // Trial t of every variant has the same seed (common random numbers).
    for (const t of [1, 2]) assert.equal(new Set(r.result.rows.filter(x => x.trial === t).map(x => x.seed)).size, 1)
    const summary = JSON.parse(readFileSync(join(r.dir, 'ablation-summary.json'), 'utf8')) as { findings: { sufficient: string[], necessary: string[] } }
    assert.deepEqual(summary.findings.sufficient, ['slot-reclaim'])
    assert.deepEqual(summary.findings.necessary, ['slot-reclaim'])
  } finally {
    rmSync(runs, { recursive: true, force: true })
  }
})
