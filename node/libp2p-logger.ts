/**
 * libp2p's component logger, silenced. libp2p 3 creates a `debug` logger (two,
 * with its error channel) for every connection and stream it opens, and each
 * creation checks the DEBUG patterns and whether stderr is a terminal: measurable
 * work per login at the login server. patchday's facts go to the pino event log;
 * set DEBUG (e.g. DEBUG=libp2p:*) to get libp2p's own logger back.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

function silent (): Logger {
  const log = Object.assign(noop.bind(null), { error: noop, trace: noop, enabled: false, newScope: () => log })
  return log
}

const SILENT = silent()

export const silentLogger: ComponentLogger = { forComponent: () => SILENT }

/** The logger to give createLibp2p: silent, or libp2p's default (undefined) when DEBUG is set. */
export function libp2pLogger (env: Record<string, string | undefined> = process.env): ComponentLogger | undefined {
  return env.DEBUG !== undefined && env.DEBUG !== '' ? undefined : silentLogger
}
