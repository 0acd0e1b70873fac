/**
 * Whether a client keeps its connection to the login server after a login
 * attempt (node/login-link.ts holds it). Pure.
 *
 * Kept while the client still needs the server and the connection has shown in
 * this attempt that it works: a `busy` or `rejected` answer, or a timeout after
 * the server took the request's stream (the request waits in its queue; the
 * timeout reset only that stream). Dropped after a login (the client is done
 * with the server), after an error (the connection's state is unknown), and
 * after a timeout before the stream was open (a dead connection would
 * otherwise time out every attempt after it).
 */
import type { LoginResponse } from './protocol/messages.ts'

export interface LoginAttemptEnd {
  /** The server's answer, or null when there was none. */
  answer: LoginResponse['t'] | null
  /** The attempt's own deadline passed (loginTimeoutMs). */
  timedOut: boolean
  /** The server agreed to the request's stream (the request could be sent). */
  streamOpened: boolean
}

export function keepsLoginLink (end: LoginAttemptEnd): boolean {
  if (end.answer === 'ok') return false
  if (end.answer !== null) return true
  return end.timedOut && end.streamOpened
}
