/**
 * docs/events.md and node/contract/events.ts must agree: one `### <event>`
 * heading per event of EVENT_NAMES, in that order, none extra, and every field
 * of the event's payload named (in backticks) in its section. The payload fields
 * are read from the TypeScript source of `EventPayloads`, since types do not
 * exist at run time.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EVENT_NAMES } from '../../node/contract/events.ts'

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url))
const DOC = readFileSync(root('docs/events.md'), 'utf8')
const SOURCE = readFileSync(root('node/contract/events.ts'), 'utf8')

/** The body of `interface <name> { ... }` in the source, braces balanced, comments removed. */
function interfaceBody (source: string, name: string): string {
  const start = source.indexOf(`interface ${name} {`)
  if (start < 0) throw new Error(`interface ${name} not found`)
  const open = source.indexOf('{', start)
  let depth = 0
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++
    else if (source[i] === '}' && --depth === 0) return stripComments(source.slice(open + 1, i))
  }
  throw new Error(`interface ${name} is not closed`)
}

function stripComments (text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '')
}

/** Field names declared at the top level of a `{ ... }` body (nested braces skipped). */
function fieldNames (body: string): string[] {
  let top = ''
  let depth = 0
  for (const ch of body) {
    if (ch === '{') depth++
    if (depth === 0) top += ch
    if (ch === '}') { depth--; top += ' {} ' }
  }
  // A field: at the start of a line or after `{`/`,`, an identifier or quoted name, then `?:` or `:`.
  return [...top.matchAll(/(?:^|[\n{,;])\s*(?:'([^']+)'|([A-Za-z_$][\w$]*))\??\s*:/g)].map(m => (m[1] ?? m[2]) as string)
}

/** Each event's payload fields, from the source of EventPayloads. */
function payloadFields (source: string): Map<string, string[]> {
  const body = interfaceBody(source, 'EventPayloads')
  const out = new Map<string, string[]>()
  const entry = /(?:^|\n)\s*(?:'([^']+)'|([A-Za-z_$][\w$]*))\s*:\s*\{/g
  const depth = 0
  let i = 0
  while (i < body.length) {
    if (depth === 0) {
      entry.lastIndex = i
      const m = entry.exec(body)
      if (m === null) break
      const name = (m[1] ?? m[2]) as string
      const open = m.index + m[0].length - 1
      let d = 0; let j = open
      for (; j < body.length; j++) {
        if (body[j] === '{') d++
        else if (body[j] === '}' && --d === 0) break
      }
      out.set(name, fieldNames(body.slice(open + 1, j)))
      i = j + 1
    } else {
      i++
    }
  }
  return out
}

/** Sections of the doc keyed by their `### ` heading. */
function sections (doc: string): Array<{ heading: string, text: string }> {
  const parts = doc.split(/^### /m).slice(1)
  return parts.map(p => {
    const nl = p.indexOf('\n')
    const heading = p.slice(0, nl).trim().replace(/^`|`$/g, '')
    // A section ends at the next heading of any level.
    const rest = p.slice(nl + 1)
    const end = rest.search(/^#{1,3} /m)
    return { heading, text: end < 0 ? rest : rest.slice(0, end) }
  })
}

const FIELDS = payloadFields(SOURCE)
const SECTIONS = sections(DOC)

test('the source parser finds every event and its fields (so that the checks below can fail)', () => {
  assert.deepEqual([...FIELDS.keys()].sort(), [...EVENT_NAMES].sort())
  assert.deepEqual(FIELDS.get('boot'), ['pid', 'addr', 'capacityClass', 'bootstrap', 'hostCacheSize', 'firstBoot', 'cpuUs'])
  assert.deepEqual(FIELDS.get('storm.op'), ['stormId', 'op', 'target', 'status', 'plannedMs', 'lateMs', 'error'])
  assert.deepEqual(FIELDS.get('attach.failed'), ['sn', 'reason', 'latencyMs', 'round', 'error'])
  assert.ok(FIELDS.get('stats')?.includes('clients'))
  assert.deepEqual(fieldNames(interfaceBody(SOURCE, 'EventBase')), ['time', 'run', 'peer', 'inc', 'role', 'ev'])
})

test('the doc has one heading per event, in the order of EVENT_NAMES, and none for events that do not exist', () => {
  const headings = SECTIONS.map(s => s.heading)
  const missing = EVENT_NAMES.filter(n => !headings.includes(n))
  const unknown = headings.filter(h => !(EVENT_NAMES as readonly string[]).includes(h))
  assert.deepEqual(missing, [], 'events without a heading in docs/events.md')
  assert.deepEqual(unknown, [], 'headings in docs/events.md for events that do not exist')
  assert.deepEqual(headings, [...EVENT_NAMES], 'headings out of order or repeated')
})

test('every payload field is named in its event\'s section', () => {
  const undocumented: string[] = []
  for (const s of SECTIONS) {
    for (const f of FIELDS.get(s.heading) ?? []) {
      if (!s.text.includes(`\`${f}\``)) undocumented.push(`${s.heading}.${f}`)
    }
  }
  assert.deepEqual(undocumented, [])
})

test('every common field is documented before the first event', () => {
  const intro = DOC.slice(0, DOC.indexOf('\n### '))
  for (const f of fieldNames(interfaceBody(SOURCE, 'EventBase'))) assert.ok(intro.includes(`| \`${f}\` |`), f)
})

test('no section documents a field its event does not have', () => {
  const extra: string[] = []
  for (const s of SECTIONS) {
    const fields = new Set(FIELDS.get(s.heading) ?? [])
    // Field rows: the first cell of each table row after the header.
    for (const m of s.text.matchAll(/^\| `([^`]+)` \|/gm)) {
      if (!fields.has(m[1] as string)) extra.push(`${s.heading}.${m[1]}`)
    }
  }
  assert.deepEqual(extra, [])
})
