/** Crash reports of the bundled peer: frames mapped to the sources, and never the minified source. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mapStack, STACK_LINE_CHARS_MAX, STACK_LINES_MAX, type FindOrigin } from '../../node/stack-map.ts'
import { crashReport } from '../../node/crash.ts'

const BUNDLE = 'file:///srv/patchday/dist/peer.mjs'
const STACK = [
  'Error: boom',
  `    at nextIncarnation (${BUNDLE}:52:248291)`,
  `    at async ${BUNDLE}:54:548`,
  '    at async mkdir (node:internal/fs/promises:858:10)',
  '    at other (file:///srv/patchday/dist/peer.mjs.other:1:1)'
].join('\n')

test('frames in the bundle are replaced by their origin; others are left alone', () => {
  const seen: Array<[number, number]> = []
  const find: FindOrigin = (line, column) => {
    seen.push([line, column])
    return line === 52 ? { file: '/srv/patchday/node/start.ts', line: 40, column: 9 } : null
  }
  const out = mapStack(STACK, BUNDLE, find).split('\n')
  assert.deepEqual(seen, [[52, 248291], [54, 548]])
  assert.equal(out[1], '    at nextIncarnation (/srv/patchday/node/start.ts:40:9)')
  assert.equal(out[2], `    at async ${BUNDLE}:54:548`, 'no origin: the frame stays as it was')
  assert.equal(out[3], '    at async mkdir (node:internal/fs/promises:858:10)')
  assert.equal(out[4], '    at other (file:///srv/patchday/dist/peer.mjs.other:1:1)')
})

test('without a map the stack is kept; an overlong line (minified source) is cut, and so is an endless stack', () => {
  assert.equal(mapStack(STACK, BUNDLE, null), STACK)
  const minified = 'var a=1;'.repeat(40_000)
  const long = mapStack(`Error: x\n${minified}\n    at f (${BUNDLE}:1:2)`, BUNDLE, null).split('\n')
  assert.ok((long[1] ?? '').length <= STACK_LINE_CHARS_MAX + 10, `cut to ${(long[1] ?? '').length}`)
  const deep = Array.from({ length: 500 }, (_, i) => `    at f${i} (x.js:1:1)`).join('\n')
  assert.equal(mapStack(`Error: deep\n${deep}`, BUNDLE, null).split('\n').length, STACK_LINES_MAX + 1)
})

test('the crash report is one block that starts with the error, whatever was thrown', () => {
  const err = new TypeError('bad')
  const report = crashReport(err, BUNDLE, null)
  assert.match(report, /^patchday peer: crashed: TypeError: bad\n {4}at /)
  assert.equal(crashReport('a string', BUNDLE, null), 'patchday peer: crashed: thrown: a string\n')
})
