import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyseRun, buildReport, writeReport, formatSummary, REPORT_JSON, REPORT_HTML } from '../../orchestrator/analysis/report.ts'
import { renderReportHtml, jsonForScript } from '../../orchestrator/analysis/report-html.ts'
import { loadFixture } from '../fixtures/analysis/load.ts'

async function withCopy<T> (name: 'never-heals' | 'calm', fn: (dir: string) => Promise<T>): Promise<T> {
  const f = await loadFixture(name)
  const tmp = await mkdtemp(join(tmpdir(), 'patchday-report-'))
  try {
    await cp(f.dir, tmp, { recursive: true })
    return await fn(tmp)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

test('writeReport writes report.json with the issue\'s fields', async () => {
  await withCopy('never-heals', async (dir) => {
    const returned = await writeReport(dir)
    const r = JSON.parse(await readFile(join(dir, REPORT_JSON), 'utf8')) as Record<string, unknown>
    for (const k of ['runId', 'seed', 'scenario', 'verdict', 'reasons', 'recoveryS', 'baseline', 'amplification', 'host', 'counts', 'series', 'windows', 'timeScale']) {
      assert.ok(k in r, `report.json has ${k}`)
    }
    assert.equal(r.runId, 'fx-never-heals')
    assert.equal(r.seed, 'fx-never-1')
    assert.equal(r.scenario, 'skype-2007')
    assert.equal(r.verdict, 'metastable')
    assert.equal(r.recoveryS, null)
    assert.deepEqual(r, JSON.parse(JSON.stringify(returned)))
    const counts = r.counts as { loginsOk: number, restarts: number, stormOps: { ok: number } }
    assert.equal(counts.loginsOk, 21)
    assert.equal(counts.restarts, 14)
    assert.equal(counts.stormOps.ok, 28)
    const series = r.series as { online: number[] }
    assert.equal(series.online.length, 150)
  })
})

test('report.html is self-contained and carries the chart data and the storm window', async () => {
  await withCopy('never-heals', async (dir) => {
    const report = await writeReport(dir)
    const html = await readFile(join(dir, REPORT_HTML), 'utf8')
    assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i, 'no external scripts')
    assert.doesNotMatch(html, /<link[^>]*href\s*=\s*["']?https?:/i, 'no external stylesheets')
    assert.doesNotMatch(html, /(src|href)\s*=\s*["']?https?:\/\//i)
    assert.match(html, /Chart\.js v4/, 'the Chart.js bundle is inlined')
    const data = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)
    assert.ok(data !== null)
    const embedded = JSON.parse(data[1] as string) as typeof report
    assert.deepEqual(embedded.series.online, report.series.online)
    assert.deepEqual(embedded.windows.stormS, report.windows.stormS)
    assert.match(html, /METASTABLE/)
    assert.match(html, /fx-never-1/)
    for (const id of ['c-online', 'c-sn', 'c-cps', 'c-attach', 'c-login', 'c-latency', 'c-queue', 'c-msgs', 'c-peers', 'c-host']) assert.match(html, new RegExp(`id="${id}"`))
  })
})

test('report text is escaped, and embedded JSON cannot close its script element', async () => {
  const report = await buildReport((await loadFixture('calm')).dir)
  report.reasons = ['</script><script>alert(1)</script>']
  const html = renderReportHtml(report, '/* chart */')
  assert.equal(html.match(/<\/script>/g)?.length, 3)
  assert.match(html, /&lt;\/script&gt;/)
  assert.equal(jsonForScript('</script>'), '"\\u003c/script>"')
})

test('formatSummary: verdict, recovery, amplification beside 2007\'s 3x and 10x, host flag', async () => {
  const calm = formatSummary(await buildReport((await loadFixture('calm')).dir))
  assert.match(calm, /verdict: RECOVERED/)
  assert.match(calm, /recovery: 0\.0 s/)
  assert.match(calm, /2007: ~3x/)
  assert.match(calm, /2007: ~10x/)
  assert.match(calm, /host: ok/)
  const saturated = formatSummary(await buildReport((await loadFixture('host-saturated')).dir))
  assert.match(saturated, /host: SATURATED/)
  const never = formatSummary(await buildReport((await loadFixture('never-heals')).dir))
  assert.match(never, /verdict: METASTABLE/)
  assert.match(never, /recovery: never/)
  assert.match(never, /signalling per client: +mean 3\.0x/)
})

test('the report names the runtime\'s restart mode and, for containers, their network (a run.json without one ran on a bridge)', async () => {
  const report = await buildReport((await loadFixture('calm')).dir)
  const as = (runtime: string, restartMode: string | null, network: string | null): string => formatSummary({ ...report, runtime, restartMode, network })
  assert.match(as('compose', 'container', 'host'), /^runtime: compose \(container restarts, host network\); /m)
  assert.match(as('compose', 'process', 'bridge'), /^runtime: compose \(process restarts, bridge network\); /m)
  assert.match(as('local', 'process', null), /^runtime: local \(process restarts\); /m)
  assert.match(renderReportHtml({ ...report, runtime: 'compose', restartMode: 'process', network: 'host' }, ''), /<td>compose \(process restarts, host network\)<\/td>/)
  const { meta, events } = await loadFixture('calm')
  assert.equal(analyseRun({ ...meta, runtime: 'compose' }, events).network, 'bridge', 'recorded before the host network')
  assert.equal(analyseRun({ ...meta, runtime: 'compose', network: 'host' }, events).network, 'host')
  assert.equal(analyseRun({ ...meta, runtime: 'local' }, events).network, null)
})

test('bucket width and thresholds are options of the report', async () => {
  const dir = (await loadFixture('never-heals')).dir
  const r = await buildReport(dir, { bucketMs: 5000, verdict: { floorShare: 0.15 }, host: { busyThreshold: 0.5, saturatedShare: 0.01 } })
  assert.equal(r.series.bucketMs, 5000)
  assert.equal(r.series.online.length, 30)
  // 4 of 20 online is above a 15% floor, but the peers still out keep trying and none gets
  // through: goodput zero under load is metastable whatever the floor.
  assert.equal(r.verdict, 'metastable')
  assert.ok(r.reasons.some(x => /goodput zero/.test(x)), r.reasons.join('\n'))
  assert.equal(r.host.hostSaturated, true) // the storm's 50% CPU samples count as busy at 0.5
  assert.equal(r.thresholds.floorShare, 0.15)
  // The floor does decide between degraded and metastable when nobody is retrying in vain.
  const degraded = (await loadFixture('degraded')).dir
  assert.equal((await buildReport(degraded)).verdict, 'degraded')
  assert.equal((await buildReport(degraded, { verdict: { floorShare: 0.9 } })).verdict, 'metastable')
})

test('a run with several storms: the report judges each, the page has its table and the summary a line per storm', async () => {
  const report = await buildReport((await loadFixture('never-heals')).dir)
  // The fixture's single storm is judged on its own as the whole run is.
  assert.deepEqual(report.storms.map(s => [s.id, s.verdict]), [['s1', report.verdict]])
  assert.equal(renderReportHtml(report, '').includes('class="storms"'), false, 'no table for one storm')
  const second = { ...(report.storms[0] as typeof report.storms[number]), id: 's2', verdict: 'recovered' as const, recoveryS: 12.5 }
  const two = { ...report, storms: [...report.storms, second] }
  const html = renderReportHtml(two, '')
  assert.match(html, /<table class="storms">/)
  assert.match(html, /<td>s2<\/td><td><span class="verdict recovered">recovered<\/span>/)
  assert.match(html, /12\.5 s/)
  assert.match(formatSummary(two), /storm s1: metastable[\s\S]*storm s2: recovered, recovery 12\.5 s/)
})
