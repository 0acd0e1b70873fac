import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FIXTURES, FIXTURES_DIR } from '../fixtures/analysis/make-fixtures.ts'
import { generate } from '../fixtures/analysis/emit.ts'
import { parseEventLine } from '../../node/contract/events.ts'
import { RunMeta } from '../../orchestrator/run/dir.ts'

for (const spec of FIXTURES) {
  test(`fixture ${spec.name}: the committed logs are what the generator writes (deterministic, no drift)`, async () => {
    const dir = join(FIXTURES_DIR, spec.name)
    const g = generate(spec)
    assert.deepEqual((await readdir(join(dir, 'logs'))).sort(), [...g.files.keys()].map(k => `${k}.log`).sort())
    for (const [file, text] of g.files) assert.equal(await readFile(join(dir, 'logs', `${file}.log`), 'utf8'), text, file)
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')), JSON.parse(JSON.stringify(g.expected)))
    RunMeta.parse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')))
  })

  test(`fixture ${spec.name}: every line is a contract event`, () => {
    for (const [file, text] of generate(spec).files) {
      for (const line of text.trimEnd().split('\n')) assert.notEqual(parseEventLine(line), undefined, `${file}: ${line}`)
    }
  })
}
