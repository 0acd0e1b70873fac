/** Named errors of storm planning. Tests assert `name` and `part`, never message text. */

/** A target spec that does not parse or does not resolve; `part` is the offending term. */
export class TargetSpecError extends Error {
  override name = 'TargetSpecError'
  readonly part: string
  constructor (part: string, why: string) {
    super(`target spec ${JSON.stringify(part)}: ${why}`)
    this.part = part
  }
}

/** A storm spec (shape, boot delay, durations) that is not valid; `part` names the field or text. */
export class StormSpecError extends Error {
  override name = 'StormSpecError'
  readonly part: string
  constructor (part: string, why: string) {
    super(`${part}: ${why}`)
    this.part = part
  }
}
