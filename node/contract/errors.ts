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

/** Bytes after a request whose protocol allows nothing more from the remote but its close. */
export class LateDataError extends Error {
  override name = 'LateDataError'
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

/**
 * A state file the process cannot start with (an unreadable boot count, identity
 * key, credentials or accounts file): bad input, not a bug. The process says in
 * one line which file and what to do, and exits 2 at every boot until it is fixed.
 */
export class StateFileError extends Error {
  override name = 'StateFileError'
  readonly exitCode = 2
  readonly file: string
  constructor (file: string, problem: string, remedy: string) {
    super(`${file}: ${problem}; ${remedy}`)
    this.file = file
  }
}
