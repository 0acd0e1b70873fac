/** Named errors of scenarios. Tests assert `name` and the structured fields, never message text. */
import { formatPath } from '../storm/fields.ts'
import { PatchdayError } from '../errors.ts'

export interface ScenarioIssue {
  /** Path into the scenario (['storms', 0, 'shape']); an unknown key's path ends with the key. */
  path: PropertyKey[]
  message: string
  /** 1-based, when the YAML source is known. */
  line?: number
  column?: number
}

export function formatIssue (issue: ScenarioIssue, file?: string): string {
  const where = issue.line === undefined ? '' : `${file ?? ''}:${issue.line}:${issue.column ?? 1}: `
  // A syntax error has no path; its line says where.
  const what = issue.path.length === 0 && issue.line !== undefined ? '' : `${formatPath(issue.path)}: `
  return `${where}${what}${issue.message}`
}

/** A scenario that is not valid; every issue found, each naming its path (and line). */
export class ScenarioError extends PatchdayError {
  override name = 'ScenarioError'
  override readonly exitCode = 2
  readonly issues: ScenarioIssue[]
  readonly file: string | undefined
  constructor (issues: ScenarioIssue[], file?: string) {
    const head = file === undefined ? 'invalid scenario' : `invalid scenario ${file}`
    super(`${head}:\n${issues.map(i => '  ' + formatIssue(i, file)).join('\n')}`)
    this.issues = issues
    this.file = file
  }
}

/** Two sources (models, or `settings` and a model) set one setting to different values. */
export class ConflictingModelsError extends Error {
  override name = 'ConflictingModelsError'
  /** The two sources: model names, or 'settings'. */
  readonly sources: [string, string]
  readonly key: string
  constructor (sources: [string, string], key: string, values: [unknown, unknown]) {
    super(`${sources[0]} and ${sources[1]} conflict: ${key} ${JSON.stringify(values[0])} vs ${JSON.stringify(values[1])}`)
    this.sources = sources
    this.key = key
  }
}
