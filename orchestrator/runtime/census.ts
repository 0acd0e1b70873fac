/**
 * Every patchday network running on this machine, whichever runs folder or
 * checkout started it: local runs found in /proc, container runs by their
 * Docker label. For `patchday ps`.
 */
import { existsSync } from 'node:fs'
import type { RuntimeKind } from './runtime.ts'
import { localNetworks } from './local-networks.ts'
import { containerNetworks } from './docker/census.ts'
import { dockerClient } from './docker/engine.ts'
import { checkDocker } from './docker/preflight.ts'
import type Docker from 'dockerode'

export interface RunningNetwork {
  runId: string
  runtime: RuntimeKind
  /** Its run folder, when known. */
  runDir: string | null
  /** Processes (or containers) running, the login server included. */
  processes: number
  peers: number
  login: boolean
}

/** How long `ps` waits for the Docker engine before it reports container runs as unknown. */
export const DOCKER_CENSUS_TIMEOUT_MS = 3000

/** Whether there is a Docker engine to ask (DOCKER_HOST, or the default socket); none is not an error for `ps`. */
function dockerConfigured (): boolean {
  return (process.env.DOCKER_HOST ?? '') !== '' || existsSync('/var/run/docker.sock')
}

async function withTimeout<T> (work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Whether a Docker engine answers within `timeoutMs` (none configured, down or silent: false, never an error). */
export async function dockerAnswers (docker: Docker = dockerClient(), timeoutMs = DOCKER_CENSUS_TIMEOUT_MS): Promise<boolean> {
  if (!dockerConfigured()) return false
  try {
    await checkDocker(docker, { timeoutMs })
    return true
  } catch {
    return false
  }
}

/** Running networks, and notes on what could not be checked (the Docker engine down). */
export async function runningNetworks (): Promise<{ networks: RunningNetwork[], notes: string[] }> {
  const notes: string[] = []
  const local: RunningNetwork[] = (await localNetworks()).map(n => ({ runId: n.runId, runtime: 'local', runDir: n.runDir, processes: n.processes, peers: n.peers, login: n.login }))
  let containers: RunningNetwork[] = []
  if (dockerConfigured()) {
    try {
      containers = await withTimeout(containerNetworks(dockerClient()), DOCKER_CENSUS_TIMEOUT_MS, 'Docker engine')
    } catch (err) {
      notes.push(`container runs not checked: ${(err as Error).message}`)
    }
  }
  return { networks: [...local, ...containers], notes }
}
