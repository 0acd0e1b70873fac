/** Aborts are how patchday cancels waits (stop, promotion, timeouts): expected, never logged as failures. */
export function isAbort (err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return name === 'AbortError' || name === 'TimeoutError'
}

/** For `.catch(ignoreAbort)`: swallows aborts only; anything else is rethrown. */
export function ignoreAbort (err: unknown): void {
  if (!isAbort(err)) throw err
}
