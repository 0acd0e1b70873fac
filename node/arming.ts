/**
 * Arming fault models late (node/contract/armed.ts has the contract): the peer
 * polls PATCHDAY_ARM_FILE and, once it exists, applies PATCHDAY_ARMED to its
 * config object in place (every service holds that object and reads armable
 * settings at each use), then logs `faults.armed` and stops polling.
 */
import { existsSync } from 'node:fs'
import type { PeerConfig } from './contract/config.ts'
import { checkArmed, parseArmed, type ArmedSettings } from './contract/armed.ts'
import type { EventLog } from './log.ts'

/** How often the arm file is looked for (real ms): one stat per peer per second. */
export const ARM_POLL_MS = 1000

export class FaultArming {
  private readonly armed: ArmedSettings
  private readonly file: string
  private readonly config: PeerConfig
  private readonly exists: (file: string) => boolean
  private timer: NodeJS.Timeout | null = null
  private done = false

  /** Validates PATCHDAY_ARMED (a ConfigError names it): call before the first log line. */
  constructor (config: PeerConfig, exists: (file: string) => boolean = existsSync) {
    this.config = config
    this.exists = exists
    this.armed = parseArmed(config.armed)
    checkArmed(config, this.armed)
    this.file = config.armFile
  }

  /** Nothing to arm, or no file to wait for. */
  get idle (): boolean { return Object.keys(this.armed).length === 0 || this.file === '' }

  /** Before the services start: armed at once when the file exists already (this boot came after the arming). */
  armIfDue (): boolean {
    if (this.idle || this.done || !this.exists(this.file)) return false
    Object.assign(this.config, this.armed)
    this.done = true
    return true
  }

  /** Once running: log an arming done at boot (armIfDue), or poll for the file and arm when it appears. */
  start (log: EventLog): void {
    const keys = Object.keys(this.armed)
    if (this.done) {
      log.event('faults.armed', { keys, atBoot: true })
      return
    }
    if (this.idle) return
    this.timer = setInterval(() => {
      if (!this.armIfDue()) return
      this.stop()
      log.event('faults.armed', { keys, atBoot: false })
    }, ARM_POLL_MS)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }
}
