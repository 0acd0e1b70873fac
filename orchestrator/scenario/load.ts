/**
 * Loading a scenario file: YAML (with line numbers) -> zod schema -> compile
 * (and every sweep cell compiled too), all before anything starts. Any problem
 * is one ScenarioError listing every issue as `file:line:col: path: message`.
 *
 * The seed: the caller's (CLI --seed) wins over the file's; without either a
 * fresh one is generated. The caller prints it, so that the run can be repeated.
 */
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { parseDocument, LineCounter, isMap, isSeq, isScalar, type Document, type Node } from 'yaml'
import { newSeed } from '../../node/contract/rng.ts'
import { fieldIssues } from '../storm/fields.ts'
import { ScenarioSchema, type Scenario } from './schema.ts'
import { compileScenario, expandSweep, type CompiledScenario } from './compile.ts'
import { ScenarioError, type ScenarioIssue } from './errors.ts'

/** Largest scenario file accepted. */
export const SCENARIO_MAX_BYTES = 256 * 1024
const SEED = /^[A-Za-z0-9._-]{1,40}$/

export interface LoadOptions {
  /** Overrides the file's seed. */
  seed?: string
  /** Source of a generated seed (default: crypto.randomBytes). */
  entropy?: () => Uint8Array
}

export interface LoadedScenario {
  file: string
  /** The run's seed (print it: it reproduces the run). */
  seed: string
  /** The scenario with its seed set. */
  scenario: Scenario & { seed: string }
  seedSource: 'option' | 'file' | 'generated'
  /** The scenario compiled with its seed: network plan, settings, timeline. */
  compiled: CompiledScenario
}

type Path = readonly PropertyKey[]

function position (node: unknown, lc: LineCounter): { line: number, column: number } | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range
  if (range === undefined) return undefined
  const { line, col } = lc.linePos(range[0])
  return { line, column: col }
}

/** The line of the deepest part of `path` that exists in the document; a map entry points at its key. */
function locate (doc: Document, lc: LineCounter, path: Path): { line: number, column: number } | undefined {
  for (let k = path.length; k > 0; k--) {
    const parent: unknown = k === 1 ? doc.contents : doc.getIn(path.slice(0, k - 1), true)
    const last = path[k - 1]
    if (isMap(parent)) {
      const pair = parent.items.find(p => isScalar(p.key) && String(p.key.value) === String(last))
      const at = pair === undefined ? undefined : position(pair.key, lc)
      if (at !== undefined) return at
    } else if (isSeq(parent) && typeof last === 'number') {
      const at = position(parent.items[last] as Node | undefined, lc)
      if (at !== undefined) return at
    }
  }
  return position(doc.contents, lc)
}

function withLines (issues: ScenarioIssue[], doc: Document, lc: LineCounter): ScenarioIssue[] {
  return issues.map(i => ({ ...i, ...locate(doc, lc, i.path) })).sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

function resolveSeed (fileSeed: string | undefined, o: LoadOptions): { seed: string, seedSource: LoadedScenario['seedSource'] } {
  if (o.seed !== undefined) {
    if (!SEED.test(o.seed)) throw new ScenarioError([{ path: ['seed'], message: `--seed ${JSON.stringify(o.seed)}: expected 1-40 letters, digits, dots, dashes or underscores` }])
    return { seed: o.seed, seedSource: 'option' }
  }
  if (fileSeed !== undefined) return { seed: fileSeed, seedSource: 'file' }
  return { seed: newSeed(o.entropy ?? (() => randomBytes(8))), seedSource: 'generated' }
}

/** Compile the scenario and every sweep cell (once per cell: trials differ only in their seed). */
function compileAll (scenario: Scenario, seed: string): CompiledScenario {
  const compiled = compileScenario(scenario, seed)
  const issues: ScenarioIssue[] = []
  for (const cell of expandSweep(scenario, seed).filter(c => c.trial === 0)) {
    try {
      compileScenario(cell.scenario, cell.seed)
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err
      for (const i of err.issues) {
        const message = `in sweep cell ${cell.label}: ${i.message}`
        if (!issues.some(j => j.message === message)) issues.push({ ...i, message })
      }
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues)
  return compiled
}

/** Parse and validate scenario text; `file` names it in errors. */
export function parseScenario (text: string, file = '<scenario>', o: LoadOptions = {}): LoadedScenario {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.map(e => {
      const { line, col } = lc.linePos(e.pos[0])
      return { path: [], message: `YAML: ${e.message.split('\n')[0] ?? e.code}`, line, column: col }
    }), file)
  }
  const r = ScenarioSchema.safeParse(doc.toJS({ maxAliasCount: 100 }), { reportInput: true })
  if (!r.success) throw new ScenarioError(withLines(fieldIssues(r.error), doc, lc), file)
  try {
    const { seed, seedSource } = resolveSeed(r.data.seed, o)
    const compiled = compileAll(r.data, seed)
    return { file, seed, scenario: { ...r.data, seed }, seedSource, compiled }
  } catch (err) {
    if (err instanceof ScenarioError) throw new ScenarioError(withLines(err.issues, doc, lc), file)
    throw err
  }
}

export async function loadScenarioFile (file: string, o: LoadOptions = {}): Promise<LoadedScenario> {
  const buf = await readFile(file)
  if (buf.length > SCENARIO_MAX_BYTES) throw new ScenarioError([{ path: [], message: `larger than ${SCENARIO_MAX_BYTES} bytes` }], file)
  return parseScenario(buf.toString('utf8'), file, o)
}
