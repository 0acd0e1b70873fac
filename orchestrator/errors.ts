/**
 * Named errors of the orchestrator. The CLI prints their message and exits with
 * their `exitCode`: 1 (a failure) unless the class says otherwise.
 */
export class PatchdayError extends Error {
  override name = 'PatchdayError'
  /** The CLI's exit code when this error ends it. */
  readonly exitCode: number = 1
}

/** Bad input at the command line: exit 2. */
export class UsageError extends PatchdayError {
  override name = 'UsageError'
  override readonly exitCode = 2
}

/** SIGINT or SIGTERM stopped the work: exit 130, as a shell reports a process ended by Ctrl-C. */
export class InterruptedError extends PatchdayError {
  override name = 'InterruptedError'
  override readonly exitCode = 130
  constructor (message = 'interrupted') {
    super(message)
  }
}

/**
 * The InterruptedError behind `err`, if an interrupt caused it: the error itself,
 * or the cause of an AbortError (node:timers/promises rejects an aborted wait with
 * an AbortError whose `cause` is the signal's reason).
 */
export function interruption (err: unknown): InterruptedError | undefined {
  if (err instanceof InterruptedError) return err
  if (err instanceof Error && err.name === 'AbortError' && err.cause instanceof InterruptedError) return err.cause
  return undefined
}

export class RunNotFoundError extends PatchdayError {
  override name = 'RunNotFoundError'
}

export class NotSteadyError extends PatchdayError {
  override name = 'NotSteadyError'
}

/** `up` over a network that is running (where both would need the same addresses): exit 2, like other input the user must change. */
export class NetworkRunningError extends PatchdayError {
  override name = 'NetworkRunningError'
  override readonly exitCode = 2
}

export class RuntimeError extends PatchdayError {
  override name = 'RuntimeError'
}

/** A record of the orchestrator's in a run folder (run.json, docker.json) that cannot be used: empty, not JSON, the wrong shape. */
export class UnreadableRecordError extends PatchdayError {
  override name = 'UnreadableRecordError'
}
