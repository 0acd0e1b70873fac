/** Named errors of storm planning. Tests assert `name` and `part`, never message text. */
import { PatchdayError } from '../errors.ts'

/** A target spec that does not parse or does not resolve; `part` is the offending term. */
export class TargetSpecError extends PatchdayError {
  override name = 'TargetSpecError'
  override readonly exitCode = 2
  readonly part: string
  constructor (part: string, why: string) {
    super(`target spec ${JSON.stringify(part)}: ${why}`)
    this.part = part
  }
}

/** A storm spec (shape, boot delay, durations) that is not valid; `part` names the field or text. */
export class StormSpecError extends PatchdayError {
  override name = 'StormSpecError'
  override readonly exitCode = 2
  readonly part: string
  constructor (part: string, why: string) {
    super(`${part}: ${why}`)
    this.part = part
  }
}
