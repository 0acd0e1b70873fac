/** Named errors of the orchestrator; the CLI prints their message and exits non-zero. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError'
}

export class NotSteadyError extends Error {
  override name = 'NotSteadyError'
}

export class RuntimeError extends Error {
  override name = 'RuntimeError'
}
