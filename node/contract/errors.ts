/** Named errors shared by the peer and the orchestrator. Tests assert `name`, never message text. */

export class ConfigError extends Error {
  override name = 'ConfigError'
  /** Bad configuration is bad input: the orchestrator's CLI exits with this (it reads `exitCode` of any error). */
  readonly exitCode = 2
  readonly variable: string
  constructor (variable: string, value: string | undefined, why: string) {
    super(value === undefined ? `${variable} ${why}` : `${variable}=${JSON.stringify(value)}: ${why}`)
    this.variable = variable
  }
}

export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError'
}

export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError'
}

export class InvalidTicketError extends Error {
  override name = 'InvalidTicketError'
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/** A state file on disk (host cache) that is not valid JSON of the expected shape. */
export class CorruptStateError extends Error {
  override name = 'CorruptStateError'
}
