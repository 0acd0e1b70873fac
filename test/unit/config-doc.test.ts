/**
 * docs/config.md is generated from configRows(); this fails when someone changes
 * a setting and forgets to regenerate it:
 *   node_modules/.bin/node scripts/gen-config-doc.ts
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CONFIG_DOC_PATH, renderConfigDoc } from '../../scripts/gen-config-doc.ts'
import { configRows } from '../../node/contract/config.ts'

const DOC = readFileSync(CONFIG_DOC_PATH, 'utf8')

test('every setting has exactly one row with its variable, name, default and range', () => {
  const rendered = renderConfigDoc()
  for (const [key, env, def, range] of configRows()) {
    const rows = rendered.split('\n').filter(l => l.startsWith(`| \`${env}\` |`))
    assert.equal(rows.length, 1, env)
    const row = rows[0] as string
    assert.ok(row.includes(`\`${key}\``), `${env}: ${row}`)
    if (def !== '' && def !== '(required)') assert.ok(row.includes(`\`${def}\``), `${env} default: ${row}`)
    assert.ok(row.includes(range), `${env} range: ${row}`)
  }
})

test('docs/config.md is up to date with configRows() (regenerate with scripts/gen-config-doc.ts)', () => {
  if (DOC === renderConfigDoc()) return
  // Say which settings differ rather than dumping two whole pages.
  const want = new Set(renderConfigDoc().split('\n').filter(l => l.startsWith('| `PATCHDAY_')))
  const have = new Set(DOC.split('\n').filter(l => l.startsWith('| `PATCHDAY_')))
  const missing = [...want].filter(l => !have.has(l))
  const stale = [...have].filter(l => !want.has(l))
  assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'docs/config.md is out of date: run node_modules/.bin/node scripts/gen-config-doc.ts')
  assert.equal(DOC, renderConfigDoc(), 'docs/config.md text outside the table differs: run node_modules/.bin/node scripts/gen-config-doc.ts')
})

test('the intro says what a reader must know before the table', () => {
  const intro = DOC.slice(0, DOC.indexOf('| Variable |'))
  assert.match(intro, /emulated/)
  assert.match(intro, /timeScale/)
  assert.match(intro, /PATCHDAY_\*/)
  assert.match(intro, /exit with code 2/)
  assert.match(intro, /names the variable/)
})
