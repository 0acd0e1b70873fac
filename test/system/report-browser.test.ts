/**
 * The HTML report in a real headless browser (Chromium): the page loads with no
 * script error and every chart draws (its canvas has pixels), for a one-storm run
 * and for a history with two storms (bands and the per-storm table). The page
 * records both in <body data-...> attributes, read back with --dump-dom. A page
 * whose chart library fails is caught, so the check can fail. Skipped where no
 * Chromium is installed (.ci/run installs Debian's `chromium`).
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { buildReport } from '../../orchestrator/analysis/report.ts'
import { renderReportHtml, loadChartJs } from '../../orchestrator/analysis/report-html.ts'
import { loadFixture } from '../fixtures/analysis/load.ts'

const run = promisify(execFile)
const CANDIDATES = [process.env.PATCHDAY_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => c !== undefined && c !== '')

async function findChromium (): Promise<string | null> {
  for (const c of CANDIDATES) {
    try {
      await run(c, ['--version'], { timeout: 20_000 })
      return c
    } catch { /* next */ }
  }
  return null
}

const browser = await findChromium()
const skip = browser === null ? `no Chromium (tried ${CANDIDATES.join(', ')}; set PATCHDAY_CHROMIUM)` : false
const dir = await mkdtemp(join(tmpdir(), 'patchday-browser-'))
after(async () => { await rm(dir, { recursive: true, force: true }) })

/** Load the page headless and return what it recorded on <body>. */
async function load (html: string, name: string): Promise<{ chartsDrawn: number | null, errors: string }> {
  const file = join(dir, name)
  await writeFile(file, html)
  const { stdout } = await run(browser as string, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${file}`], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })
  const body = /<body([^>]*)>/.exec(stdout)?.[1] ?? ''
  const drawn = /data-charts-drawn="(\d+)"/.exec(body)?.[1]
  return { chartsDrawn: drawn === undefined ? null : Number(drawn), errors: /data-errors="([^"]*)"/.exec(body)?.[1] ?? '' }
}

test('the report page draws all ten charts with no script error, for one storm and for a history of two', { skip, timeout: 300_000 }, async () => {
  const fixture = await loadFixture('never-heals')
  const copy = join(dir, 'run')
  await cp(fixture.dir, copy, { recursive: true })
  const report = await buildReport(copy)
  const chartJs = await loadChartJs()
  const one = await load(renderReportHtml(report, chartJs), 'one.html')
  assert.equal(one.errors, '')
  assert.equal(one.chartsDrawn, 10)
  const first = report.storms[0]
  assert.ok(first !== undefined)
  const two = { ...report, storms: [first, { ...first, id: 's2', verdict: 'recovered' as const, stormS: { from: first.stormS.from + 40, to: first.stormS.to + 40 } }] }
  const history = await load(renderReportHtml(two, chartJs), 'two.html')
  assert.equal(history.errors, '')
  assert.equal(history.chartsDrawn, 10)
})

test('a page whose chart library is broken is caught: errors recorded, no chart drawn', { skip, timeout: 300_000 }, async () => {
  const report = await buildReport((await loadFixture('calm')).dir)
  const broken = await load(renderReportHtml(report, 'throw new Error("no chart library")'), 'broken.html')
  assert.match(broken.errors, /Chart is not defined|no chart library/)
  assert.notEqual(broken.chartsDrawn, 10)
})
