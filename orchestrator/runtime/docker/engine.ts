/**
 * What the compose and Swarm runtimes share: per-container operations through
 * the Docker engine API (dockerode; compose cannot act on one replica of a
 * scaled service), listing by the run's label, log collection into the run
 * folder, exit explanations, and a teardown that finds everything by label,
 * so that it works without any record (an orchestrator killed mid-storm).
 *
 * Both restart modes live here, once for both runtimes: `container` stops and
 * starts whole containers; `process` keeps every container running and sends
 * its supervisor (docker/supervise.sh) a signal instead (docker/supervisor.ts).
 * A runtime says only which state file is whose (`ctlKey`).
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Docker from 'dockerode'
import type { RunDir } from '../../run/dir.ts'
import type { Journal } from '../../run/journal.ts'
import { RuntimeError, UnreadableRecordError } from '../../errors.ts'
import type { Endpoint, EndpointRequest, ProcessSpec, ProcessStatus, RestartMode, StopOutcome, TeardownResult } from '../runtime.ts'
import { ARM_FILE_NAME } from '../../../node/contract/armed.ts'
import { CONTAINER_CONFIG_DIR, CONTAINER_STATE_DIR, LOGIN_PORT, NAME_LABEL, PEER_PORT, RUN_LABEL } from '../compose-file.ts'
import { dockerStateProblem, readDockerStateRecord, type DockerState } from './state.ts'
import { SupervisedPeers, type SupervisedPeer } from './supervisor.ts'
import { DockerLogCollector, DockerLogsLockedError } from './logs.ts'
import { FrameDemuxer } from './demux.ts'
import { checkDocker, checkNoLeftovers, checkSubnetFree, dockerEndpoint, DockerPreflightError } from './preflight.ts'

/** Containers stopped or removed at once by teardown. */
export const TEARDOWN_PARALLEL_MAX = 16
/** Lines of a container's error output quoted when it exited. */
const EXPLAIN_LINES = 5
/** Exit code of a process killed with SIGKILL (128 + 9). */
const SIGKILL_EXIT = 137
/** How long teardown waits for a container that the engine (Swarm) is removing already. */
const REMOVAL_WAIT_MS = 30_000
const REMOVAL_POLL_MS = 250

export function dockerClient (): Docker {
  // docker-modem honours DOCKER_HOST (unix socket, tcp, ssh) like the docker CLI.
  return new Docker()
}

function statusCode (err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode
}

/** What removeNetwork needs of a dockerode network. */
export type RemovableNetwork = Pick<Docker.Network, 'remove' | 'inspect' | 'disconnect'>

/**
 * Remove a network, cutting loose the endpoints its removed containers left behind. The engine
 * releases a removed container's endpoint asynchronously, so "has active endpoints" (403) may
 * outlast the containers, with no container left to disconnect (found by CI): retry for
 * `waitMs`, then the last error stands. False when the network was gone already.
 */
export async function removeNetwork (net: RemovableNetwork, waitMs = REMOVAL_WAIT_MS, pollMs = REMOVAL_POLL_MS): Promise<boolean> {
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      await net.remove()
      return true
    } catch (err) {
      if (statusCode(err) === 404) return false
      if (statusCode(err) !== 403 || Date.now() >= deadline) throw err
    }
    try {
      const info = await net.inspect() as { Containers?: Record<string, { Name?: string }> }
      // Best effort: a container may be gone already; the next remove() says whether anything is still attached.
      for (const [id, c] of Object.entries(info.Containers ?? {})) await net.disconnect({ Container: c.Name ?? id, Force: true }).catch(() => {})
    } catch (err) {
      if (statusCode(err) === 404) return false
      throw err
    }
    await sleep(pollMs)
  }
}

export abstract class DockerRuntimeBase {
  readonly secrets = 'lab-secret'
  readonly restartMode: RestartMode
  protected readonly run: RunDir
  protected readonly docker: Docker
  /** Process mode: the supervisors of the run's containers; null in container mode. */
  protected readonly supervisor: SupervisedPeers | null
  /**
   * A start that finds its peer running is done rather than an error: Swarm starts every task
   * (and so every supervised peer) at deploy, before the orchestrator's paced starts reach it.
   */
  protected readonly runningAtDeploy: boolean = false
  private cached: DockerState | null = null
  private problem: string | null = null

  constructor (run: RunDir, restartMode: RestartMode, docker: Docker = dockerClient()) {
    this.run = run
    this.docker = docker
    this.restartMode = restartMode
    this.supervisor = restartMode === 'process' ? new SupervisedPeers(this.ctlDir) : null
  }

  /**
   * Before the run's folder is made: the engine answers, and nothing in it carries this run id's
   * label yet (checkNoLeftovers). A run refused here has started nothing, so its failure stops
   * nothing: the start-up's cleanup would otherwise sweep whatever carries the label.
   */
  async checkAvailable (): Promise<void> {
    await checkDocker(this.docker, { endpoint: dockerEndpoint() })
    await checkNoLeftovers(this.docker, this.run.runId, `${RUN_LABEL}=${this.run.runId}`)
  }

  /** Process mode: the supervisors' state files, one per container (mounted read-write into every container). */
  protected get ctlDir (): string { return join(this.run.root, 'ctl') }

  /**
   * Process mode: the state file of `name`'s supervisor in the ctl folder, which the supervisor
   * names after its container's hostname; null when `name` has no container in the record.
   */
  protected abstract ctlKey (name: string, state: DockerState): string | null

  /** The run's label filter: its own label, or the compose project of an attached network. */
  protected async labelFilter (): Promise<string> {
    return (await this.stateOrNull())?.label ?? `${RUN_LABEL}=${this.run.runId}`
  }

  /**
   * docker.json, or null when there is none or it is unusable: then the run's
   * containers are found by its label (listing, logs, teardown), and
   * `recordProblem` says what is wrong with the file.
   */
  protected async stateOrNull (): Promise<DockerState | null> {
    if (this.cached !== null) return this.cached
    const read = await readDockerStateRecord(this.run)
    if (read === null) return null
    if (!read.ok) {
      this.problem = dockerStateProblem(this.run, read.problem)
      return null
    }
    this.cached = read.value
    return this.cached
  }

  /** What is wrong with docker.json, once a command has tried to read it; null when nothing is. */
  async recordProblem (): Promise<string | null> {
    await this.stateOrNull()
    return this.problem
  }

  protected async state (): Promise<DockerState> {
    const s = await this.stateOrNull()
    if (s !== null) return s
    if (this.problem !== null) throw new UnreadableRecordError(this.problem)
    throw new RuntimeError(`run ${this.run.runId} has no container record (docker.json): it was never prepared`)
  }

  protected remember (s: DockerState): void { this.cached = s }

  endpoint (p: EndpointRequest): Endpoint {
    const port = p.group === 'login' ? LOGIN_PORT : PEER_PORT
    // Well-known processes have a service of their own, named after them; the rest announce their own address.
    return { listenHost: '0.0.0.0', dialHost: p.wellKnown && p.group !== 'reserve' ? p.name : null, port }
  }

  wiring (p: EndpointRequest): Record<string, string> {
    return { PATCHDAY_STATE_DIR: CONTAINER_STATE_DIR, PATCHDAY_LISTEN_IP: '0.0.0.0', PATCHDAY_ANNOUNCE_IP: 'auto', PATCHDAY_PORT: String(this.endpoint(p).port), PATCHDAY_ARM_FILE: `${CONTAINER_CONFIG_DIR}/${ARM_FILE_NAME}` }
  }

  /** Hook: load what maps containers to peer names (called before every listing, log pass and event watch). */
  protected async refreshNames (): Promise<void> {}

  /** The container of `name` now (Swarm replaces containers; compose keeps them). */
  protected abstract containerId (name: string): Promise<string | null>

  protected async container (name: string): Promise<Docker.Container | null> {
    const id = await this.containerId(name)
    return id === null ? null : this.docker.getContainer(id)
  }

  /** Hook: the container a start acts on (Swarm waits for its task's); throws when there is none. */
  protected async containerToStart (name: string): Promise<Docker.Container> {
    const c = await this.container(name)
    if (c === null) throw new RuntimeError(`no container for ${name} in run ${this.run.runId}`)
    return c
  }

  private async running (c: Docker.Container): Promise<boolean | null> {
    try {
      return (await c.inspect()).State.Running
    } catch (err) {
      if (statusCode(err) === 404) return null
      throw err
    }
  }

  /** Process mode: `name`'s running container and its supervisor's last word; null when its container is not running. */
  private async supervised (name: string): Promise<SupervisedPeer | null> {
    if (this.supervisor === null) return null
    const key = this.ctlKey(name, await this.state())
    const c = await this.container(name)
    if (key === null || c === null || await this.running(c) !== true) return null
    return { name, container: c, key, state: (await this.supervisor.files.read(key)).state }
  }

  private alreadyRunning (name: string): void {
    if (!this.runningAtDeploy) throw new RuntimeError(`${name} is already running`)
  }

  /**
   * Start `spec`'s peer: in process mode, a signal to the supervisor of its running container;
   * else (or when its container is not running) the container, whose supervisor, if any,
   * launches the peer at once.
   */
  async start (spec: ProcessSpec): Promise<void> {
    const c = await this.containerToStart(spec.name)
    if (await this.running(c) === true) {
      const p = await this.supervised(spec.name)
      if (this.supervisor !== null && p !== null) {
        await this.supervisor.start(p, { beforeStart: async () => { await this.beforeStart(spec) }, runningIsDone: this.runningAtDeploy })
        return
      }
      this.alreadyRunning(spec.name)
      return
    }
    const key = this.supervisor !== null ? this.ctlKey(spec.name, await this.state()) : null
    const before = this.supervisor !== null && key !== null ? await this.supervisor.files.read(key) : null
    await this.beforeStart(spec)
    try {
      await c.start()
    } catch (err) {
      // Started by someone else between our look and our start (Swarm at deploy; found by CI: "login is already running").
      if (statusCode(err) !== 304 && await this.running(c) !== true) throw err
      this.alreadyRunning(spec.name)
      return
    }
    // Its supervisor counts starts from 1 again: its report of this launch is any change of its file.
    if (this.supervisor !== null && key !== null && before !== null) await this.supervisor.started(key, before, spec.name)
  }

  /** Hook: bring the container's settings up to date before it starts (an injection changes them). */
  protected async beforeStart (_spec: ProcessSpec): Promise<void> {}

  /** SIGTERM, then SIGKILL after `graceMs`: to the peer process (process mode) or through `docker stop`. */
  async stop (name: string, graceMs: number): Promise<StopOutcome> {
    if (this.supervisor !== null) {
      const p = await this.supervised(name)
      return p === null ? 'absent' : await this.supervisor.stop(p, graceMs)
    }
    const c = await this.container(name)
    if (c === null || await this.running(c) !== true) return 'absent'
    try {
      // Docker sends SIGTERM (tini passes it to node), then SIGKILL after t seconds.
      await c.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) })
    } catch (err) {
      if (statusCode(err) === 304) return 'absent'
      throw err
    }
    return (await c.inspect()).State.ExitCode === SIGKILL_EXIT ? 'killed' : 'stopped'
  }

  async kill (name: string): Promise<StopOutcome> {
    if (this.supervisor !== null) {
      const p = await this.supervised(name)
      return p === null ? 'absent' : await this.supervisor.kill(p)
    }
    const c = await this.container(name)
    if (c === null || await this.running(c) !== true) return 'absent'
    try {
      await c.kill({ signal: 'SIGKILL' })
    } catch (err) {
      if (statusCode(err) === 409 || statusCode(err) === 304) return 'absent'
      throw err
    }
    await c.wait({ condition: 'not-running' })
    return 'killed'
  }

  /** Peer name of a container, or null when it is not one of ours. */
  protected abstract nameOf (c: { id: string, labels: Record<string, string>, name: string }): string | null

  async list (): Promise<ProcessStatus[]> {
    await this.refreshNames()
    const label = await this.labelFilter()
    const all = await this.docker.listContainers({ all: true, filters: { label: [label] } })
    const out = new Map<string, ProcessStatus>()
    for (const c of all) {
      const name = this.nameOf({ id: c.Id, labels: c.Labels, name: (c.Names[0] ?? '').replace(/^\//, '') })
      if (name === null) continue
      const running = c.State === 'running'
      // Swarm may hold an old, exited container of a slot beside the new one: running wins.
      if (out.get(name)?.running !== true) out.set(name, { name, running, id: c.Id.slice(0, 12) })
    }
    const peers = [...out.values()].sort((a, b) => a.name.localeCompare(b.name))
    const files = this.supervisor
    const state = await this.stateOrNull()
    if (files === null || state === null) return peers
    // Process mode: a peer runs while its container runs, unless its supervisor says the process exited.
    return await Promise.all(peers.map(async (p) => {
      const key = this.ctlKey(p.name, state)
      return !p.running || key === null ? p : { ...p, running: await files.running(key) }
    }))
  }

  private collector (label: string): DockerLogCollector {
    return new DockerLogCollector({
      docker: this.docker,
      logsDir: this.run.logsDir,
      filters: { label: [label] },
      nameOf: c => this.nameOf(c)
    })
  }

  /** One collector per logs folder: while another command's collector follows (a storm in another shell), it keeps the files current. */
  async syncLogs (): Promise<void> {
    await this.refreshNames()
    try {
      await this.collector(await this.labelFilter()).sync()
    } catch (err) {
      if (!(err instanceof DockerLogsLockedError)) throw err
    }
  }

  async collectLogs (signal: AbortSignal): Promise<void> {
    await this.refreshNames()
    try {
      await this.collector(await this.labelFilter()).follow(signal)
    } catch (err) {
      if (!(err instanceof DockerLogsLockedError)) throw err
      // Another command's collector follows already; this one has nothing to add until it is told to stop.
      if (!signal.aborted) await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    }
  }

  /** The engine's container events and, in process mode, beside them every change a supervisor reports. */
  async watchEvents (journal: Pick<Journal, 'event'>, signal: AbortSignal): Promise<void> {
    await this.refreshNames()
    const state = await this.stateOrNull()
    if (this.supervisor !== null && state !== null) {
      const names = new Map<string, string>()
      for (const name of Object.keys(state.containers)) {
        const key = this.ctlKey(name, state)
        if (key !== null) names.set(key, name)
      }
      this.supervisor.watch(names, journal, signal)
    }
    const label = await this.labelFilter()
    const stream = await this.docker.getEvents({ filters: { type: ['container'], label: [label], event: ['start', 'die'] } }) as NodeJS.ReadableStream & { destroy: () => void }
    const onAbort = (): void => { stream.destroy() }
    signal.addEventListener('abort', onAbort, { once: true })
    let buf = ''
    try {
      for await (const chunk of stream) {
        buf += chunk.toString()
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          const e = parseEngineEvent(line)
          if (e === null) continue
          const target = this.nameOf({ id: e.id, labels: e.labels, name: e.labels.name ?? '' })
          if (target === null) continue
          journal.event('runtime.event', { target, action: e.action, atMs: e.atMs, ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}) })
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  async explainExit (name: string): Promise<string> {
    const p = await this.supervised(name)
    if (this.supervisor !== null && p !== null && p.state?.state === 'exited') return this.supervisor.explain(p.key, p.state, await this.errorTail(p.container))
    const c = await this.container(name)
    if (c === null) return `no container for ${name}`
    const info = await c.inspect()
    const last = await this.errorTail(c)
    const why = `container ${info.Name.replace(/^\//, '')} ${info.State.Status}, exit code ${info.State.ExitCode}${info.State.OOMKilled ? ' (out of memory)' : ''}`
    return last.length === 0 ? `${why}, no error output` : `${why}: ${last.join(' | ')}`
  }

  /** The last lines a container printed on its error output. */
  protected async errorTail (c: Docker.Container): Promise<string[]> {
    const buf = await c.logs({ stdout: false, stderr: true, tail: EXPLAIN_LINES, follow: false }) as unknown as Buffer
    return demuxText(buf).trimEnd().split('\n').filter(l => l !== '').slice(-EXPLAIN_LINES)
  }

  /** Whether a container someone else is removing is gone within REMOVAL_WAIT_MS. */
  private async waitRemoved (c: Docker.Container): Promise<boolean> {
    const deadline = Date.now() + REMOVAL_WAIT_MS
    while (Date.now() < deadline) {
      try {
        await c.inspect()
      } catch (err) {
        if (statusCode(err) === 404) return true
        throw err
      }
      await sleep(REMOVAL_POLL_MS)
    }
    return false
  }

  /** Remove every container and network carrying the run's label (and its volumes); how many were removed. */
  protected async sweep (label: string, graceMs: number): Promise<{ stopped: number, killed: number, removed: number }> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [label] } })
    let stopped = 0; let killed = 0; let removed = 0
    for (let i = 0; i < containers.length; i += TEARDOWN_PARALLEL_MAX) {
      await Promise.all(containers.slice(i, i + TEARDOWN_PARALLEL_MAX).map(async (info) => {
        const c = this.docker.getContainer(info.Id)
        try {
          if (info.State === 'running') {
            await c.stop({ t: Math.ceil(graceMs / 1000) })
            if ((await c.inspect()).State.ExitCode === SIGKILL_EXIT) killed++
            else stopped++
          }
          await c.remove({ force: true, v: true })
          removed++
        } catch (err) {
          if (statusCode(err) === 404 || statusCode(err) === 304) return
          // Swarm removes a removed stack's task containers itself: wait for it instead of racing it (found by CI).
          if (statusCode(err) === 409 && /in progress/i.test((err as Error).message)) {
            if (await this.waitRemoved(c)) removed++
            return
          }
          throw err
        }
      }))
    }
    for (const n of await this.docker.listNetworks({ filters: { label: [label] } })) {
      if (await removeNetwork(this.docker.getNetwork(n.Id))) removed++
    }
    const vols = await this.docker.listVolumes({ filters: { label: [label] } })
    for (const v of vols.Volumes ?? []) {
      await this.docker.getVolume(v.Name).remove()
      removed++
    }
    return { stopped, killed, removed }
  }

  /** What is left of the run after a teardown (a test asserts zero). */
  async leftovers (): Promise<number> {
    const label = await this.labelFilter()
    const c = await this.docker.listContainers({ all: true, filters: { label: [label] } })
    const n = await this.docker.listNetworks({ filters: { label: [label] } })
    const v = await this.docker.listVolumes({ filters: { label: [label] } })
    return c.length + n.length + (v.Volumes ?? []).length
  }

  abstract teardown (graceMs: number): Promise<TeardownResult>
}

export interface EngineEvent { id: string, action: 'start' | 'die', atMs: number, exitCode?: number, labels: Record<string, string> }

/** One line of the engine's event stream (`GET /events`), or null for anything else. */
export function parseEngineEvent (line: string): EngineEvent | null {
  if (line.trim() === '') return null
  const v = JSON.parse(line) as { id?: string, Action?: string, timeNano?: number, Actor?: { ID?: string, Attributes?: Record<string, string> } }
  const action = v.Action
  if (action !== 'start' && action !== 'die') return null
  const labels = v.Actor?.Attributes ?? {}
  const code = labels.exitCode
  return { id: v.Actor?.ID ?? v.id ?? '', action, atMs: Math.round((v.timeNano ?? 0) / 1e6), ...(code !== undefined ? { exitCode: Number(code) } : {}), labels }
}

/** The text of a multiplexed (non-TTY) log buffer, frame headers dropped. */
export function demuxText (buf: Buffer): string {
  return Buffer.concat(new FrameDemuxer().push(buf).map(f => f.payload)).toString('utf8')
}

/** The first /20 of `pool` that no route of this host and no Docker network uses, or PATCHDAY_SUBNET when set. */
export async function chooseSubnet (docker: Docker, pool: readonly string[], what: string): Promise<string> {
  const forced = process.env.PATCHDAY_SUBNET
  if (forced !== undefined && forced !== '') return forced
  for (const subnet of pool) {
    try {
      await checkSubnetFree(docker, subnet)
      return subnet
    } catch (err) {
      if (!(err instanceof DockerPreflightError) || err.code !== 'subnet-in-use') throw err
    }
  }
  throw new DockerPreflightError('subnet-in-use', `every /20 of ${what} is taken by a route of this host or a Docker network: set PATCHDAY_SUBNET to a free private subnet`)
}

/** The name a standalone container gives itself (PATCHDAY_PEER with `{hostname}`), from its environment. */
export function selfName (env: string[], hostname: string): string | null {
  const raw = env.find(e => e.startsWith('PATCHDAY_PEER='))?.slice('PATCHDAY_PEER='.length)
  if (raw === undefined) return null
  return raw.replaceAll('{hostname}', hostname.replace(/[^A-Za-z0-9._-]/g, '-'))
}

export { NAME_LABEL }
