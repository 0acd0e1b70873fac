/**
 * The compose runtime: one container per peer on one Docker host. Compose does
 * the whole-project work (create the network and every container, tear the
 * project down) through the npm `docker-compose` package, with Compose v2
 * (`docker compose`) or v1 (`docker-compose`); everything per container (start,
 * stop with a grace period, kill, inspect, logs) goes to the engine API, since
 * compose cannot act on one replica of a scaled service.
 *
 * Containers are created at prepare (`up --no-start --scale peer=N`) and started
 * one by one by the network's start-up pacing; each reads its settings from the
 * run's env.json by its hostname (its short container id).
 *
 * Restart modes: `container` (the default) stops and starts whole containers;
 * `process` runs every process under docker/supervise.sh, and a storm's stops
 * and starts become signals to it (runtime/docker/engine.ts, supervisor.ts): the
 * container, its address and its log stream stay, only the peer process restarts.
 *
 * Networks: `bridge` (the default) puts the run on a Docker network of its own,
 * each container at an address pinned for the whole run; `host` (`--network
 * host`) runs every container on the host's network stack, which saves the
 * engine most of its work per container start (no namespace, veth, DNS resolver
 * or iptables: BENCHMARKS.md), and each process binds its own 127.x address,
 * the local runtime's (local-addresses.ts): one such network at a time, and not
 * beside a local one. Containers on the host network share the host's hostname,
 * so env.json and the supervisors' state files are keyed by the short container
 * id, which each container reads from its mounts (PATCHDAY_ENV_KEY=container-id).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as compose from 'docker-compose'
import type Docker from 'dockerode'
import type { RunDir } from '../run/dir.ts'
import { writeJsonAtomic } from '../run/dir.ts'
import { NetworkRunningError, RuntimeError, UsageError } from '../errors.ts'
import type { Endpoint, EndpointRequest, NetworkMode, ProcessSpec, RestartMode, Runtime, TeardownResult } from './runtime.ts'
import { ENV_FILE_NAME, LOGIN_SERVICE, NAME_LABEL, PEER_SERVICE, RUN_LABEL, composeYaml, runCompose } from './compose-file.ts'
import { DockerRuntimeBase, chooseSubnet, dockerClient } from './docker/engine.ts'
import { writeDockerState, type DockerState } from './docker/state.ts'
import { dockerPreflight, formatIpv4, parseCidr, type ComposeInfo } from './docker/preflight.ts'
import { IMAGE_DEFAULT } from './docker/image.ts'
import { SHORT_ID_CHARS } from '../../node/contract/env-file.ts'
import { cloneReplica } from './docker/clone.ts'
import { LOGIN_IP, LOGIN_PORT, localEndpoint } from './local-addresses.ts'
import { addressInUse, localNetworks, refusal } from './local-networks.ts'

/** Where run networks take their subnet from when PATCHDAY_SUBNET does not say: /20 blocks of 10.213.0.0/16. */
const SUBNET_POOL = Array.from({ length: 16 }, (_, k) => `10.213.${k * 16}.0/20`)
/**
 * Compose's own parallelism. Compose v1 takes a slot per service and then one per container
 * inside it from the same pool, so a limit below the number of services deadlocks (measured:
 * 26 services with a limit of 8 hung after 5 containers). Containers are only created by
 * compose here (starts are ours, paced), so a high limit costs little.
 */
const COMPOSE_PARALLEL_LIMIT = '512'
/** Replicas of `peer` created per compose call. */
const SCALE_STEP = 64
/** Pinned addresses start after the gateway (.1). */
const PINNED_FIRST_HOST = 2
/** Containers reconnected at once while their addresses are pinned. */
const PIN_PARALLEL_MAX = 16
/** Compose output kept per call (errors quote it). */
const COMPOSE_OUTPUT_MAX = 64_000

export function projectName (runId: string): string {
  return `patchday-${runId.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`.slice(0, 63)
}

export function composeOptions (s: Pick<DockerState, 'project' | 'compose' | 'composeFile' | 'workingDir'>): compose.IDockerComposeOptions {
  return {
    cwd: s.workingDir,
    ...(s.composeFile !== null ? { config: s.composeFile } : {}),
    composeOptions: [['-p', s.project]],
    ...(s.compose === 'v1' ? { executable: { standalone: true as const } } : {}),
    env: { ...process.env, COMPOSE_PARALLEL_LIMIT },
    maxOutputLength: COMPOSE_OUTPUT_MAX
  }
}

/** docker-compose rejects with `{ exitCode, out, err }`, not an Error. */
export async function composeCall<T> (what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof Error) throw err
    const r = err as { exitCode?: number, err?: string, out?: string }
    const text = (r.err ?? r.out ?? '').trim().split('\n').slice(-5).join(' | ')
    throw new RuntimeError(`docker compose ${what} failed (exit ${String(r.exitCode)}): ${text}`)
  }
}

export class ComposeRuntime extends DockerRuntimeBase implements Runtime {
  readonly name = 'compose'
  readonly networkMode: NetworkMode
  private names: Map<string, string> | null = null

  constructor (run: RunDir, o: { restartMode?: RestartMode, network?: NetworkMode } = {}, docker: Docker = dockerClient()) {
    super(run, o.restartMode ?? 'container', docker)
    this.networkMode = o.network ?? 'bridge'
  }

  private get host (): boolean { return this.networkMode === 'host' }

  /** Host network: the local runtime's loopback scheme, a 127.x address per process; else the bridge's (service names, 0.0.0.0). */
  override endpoint (p: EndpointRequest): Endpoint {
    return this.host ? localEndpoint(p) : super.endpoint(p)
  }

  override wiring (p: EndpointRequest): Record<string, string> {
    if (!this.host) return super.wiring(p)
    const e = localEndpoint(p)
    // Announced as it listens: nothing here dials anything but these loopback addresses.
    return { ...super.wiring(p), PATCHDAY_LISTEN_IP: e.listenHost, PATCHDAY_ANNOUNCE_IP: e.listenHost, PATCHDAY_PORT: String(e.port) }
  }

  /**
   * Whatever the network, no leftovers of this run id (DockerRuntimeBase). Host network: the
   * loopback addresses are the local runtime's, so refuse (exit 2) while a local network runs
   * or anything (another host-network run, another program) has the login server's address.
   */
  override async checkAvailable (): Promise<void> {
    await super.checkAvailable()
    if (!this.host) return
    const refused = refusal(await localNetworks())
    if (refused !== null) throw refused
    if (await addressInUse(LOGIN_IP, LOGIN_PORT)) {
      throw new NetworkRunningError(`${LOGIN_IP}:${LOGIN_PORT}, the login server's address, is in use: --network host binds the local runtime's loopback addresses (${LOGIN_IP} and 127.2-4.x), so it runs only while no local network, no other --network host run and no other program has them: stop it (find it with 'ss -ltnp'), or use --network bridge`)
    }
  }

  /** What every env.json entry carries besides the process's own settings: the lab subnet, where there is one. */
  private labEnv (s: Pick<DockerState, 'subnet'>): Record<string, string> {
    return s.subnet === '' ? {} : { PATCHDAY_LAB_SUBNET: s.subnet }
  }

  private get configDir (): string { return join(this.run.root, 'config') }
  /** The run's Node compile cache, shared by its containers. */
  private get cacheDir (): string { return join(this.run.root, 'cache') }
  private get envFile (): string { return join(this.configDir, ENV_FILE_NAME) }

  async prepare (specs: ProcessSpec[]): Promise<void> {
    // Compose's short volume syntax (host:container[:mode]) cannot hold a host path with a colon.
    if (this.run.root.includes(':')) throw new UsageError(`the runs folder ${this.run.root} has a ':' in its path, which Docker Compose cannot mount: use another --runs-dir`)
    const image = process.env.PATCHDAY_IMAGE ?? IMAGE_DEFAULT
    // The host network has no subnet of the run (and no bridge to fill).
    const subnet = this.host ? '' : await chooseSubnet(this.docker, SUBNET_POOL, '10.213.0.0/16')
    const info: ComposeInfo = await dockerPreflight({ docker: this.docker, image, subnet: this.host ? null : subnet, containers: specs.length })
    const bootstrap = specs.filter(s => s.role === 'bootstrap').map(s => s.name)
    // Peers and the reserve (created, started only by an injection) are replicas of `peer`.
    const others = specs.filter(s => s.role === 'peer' || s.role === 'reserve')
    // The config folder is read inside the containers by a non-root user.
    await mkdir(this.configDir, { recursive: true, mode: 0o755 })
    await writeFile(this.envFile, '{}\n', { mode: 0o644 })
    // Written by the containers, which run as the image's user (node, uid 1000), not as us.
    const shared = [this.cacheDir, ...(this.supervisor !== null ? [this.ctlDir] : [])]
    for (const dir of shared) {
      await mkdir(dir, { recursive: true })
      await chmod(dir, 0o777)
    }
    const file = join(this.run.root, 'compose.yaml')
    const supervised = this.supervisor !== null ? { supervised: { ctlDir: './ctl' } } : {}
    await writeFile(file, composeYaml(runCompose({ runId: this.run.runId, image, subnet, bootstrap, configDir: './config', compileCacheDir: './cache', network: this.networkMode, ...supervised }), [`patchday run ${this.run.runId}: generated by 'patchday up --runtime compose'`]))
    const state: DockerState = { version: 1, kind: 'compose', project: projectName(this.run.runId), label: `${RUN_LABEL}=${this.run.runId}`, compose: info.kind, composeFile: 'compose.yaml', workingDir: this.run.root, subnet, network: this.networkMode, image, containers: {}, attached: false, configDir: this.configDir }
    await writeDockerState(this.run, state)
    this.remember(state)
    // In steps, each creating the next replicas: fewer containers per call for Compose v1's threads
    // (one per container; docker/compose#6705, #8161 report hangs at a few hundred).
    for (let n = Math.min(SCALE_STEP, others.length); ; n = Math.min(n + SCALE_STEP, others.length)) {
      await composeCall('up --no-start', async () => await compose.upAll({ ...composeOptions(state), commandOptions: ['--no-start', ['--scale', `${PEER_SERVICE}=${n}`]] }))
      if (n >= others.length) break
    }
    // Replicas of `peer` take the plan's other processes in order of their container number.
    const created = await this.docker.listContainers({ all: true, filters: { label: [state.label] } })
    const byService = (svc: string): Docker.ContainerInfo[] => created.filter(c => c.Labels['com.docker.compose.service'] === svc)
      .sort((a, b) => Number(a.Labels['com.docker.compose.container-number']) - Number(b.Labels['com.docker.compose.container-number']))
    const containers: Record<string, string> = {}
    for (const svc of [LOGIN_SERVICE, ...bootstrap]) {
      const c = byService(svc)[0]
      if (c === undefined) throw new RuntimeError(`compose created no container for ${svc}`)
      containers[svc] = c.Id
    }
    const replicas = byService(PEER_SERVICE)
    if (replicas.length !== others.length) throw new RuntimeError(`compose created ${replicas.length} ${PEER_SERVICE} containers, ${others.length} wanted`)
    others.forEach((s, i) => { containers[s.name] = (replicas[i] as Docker.ContainerInfo).Id })
    const env: Record<string, Record<string, string>> = {}
    // Keyed by the short container id: Docker's hostname of a bridge container, and what a host-network container reads from its mounts.
    for (const s of specs) env[hostnameOf(containers[s.name] as string)] = { ...s.env, ...this.labEnv(state) }
    await writeJsonAtomic(this.envFile, env)
    if (!this.host) await this.pinAddresses(specs.map(sp => ({ name: sp.name, id: containers[sp.name] as string, service: serviceOf(sp.name, bootstrap) })), subnet, created)
    const done = { ...state, containers }
    await writeDockerState(this.run, done)
    this.remember(done)
  }

  /**
   * Every container keeps one address for the whole run, as a process keeps its
   * loopback address: Docker gives a restarted container whatever address is
   * free, and peers whose host caches hold the old one would reach another
   * peer there (a failed handshake, not a missing peer), a lab artefact that
   * would decide storms. Compose cannot pin replicas' addresses, so each
   * container is reconnected to the lab network with a fixed one before it starts.
   */
  private async pinAddresses (members: Array<{ name: string, id: string, service: string }>, subnet: string, created: Docker.ContainerInfo[]): Promise<void> {
    const cidr = parseCidr(subnet)
    if (cidr === null) throw new RuntimeError(`bad lab subnet ${subnet}`)
    if (members.length + PINNED_FIRST_HOST >= 2 ** (32 - cidr.prefix) - 1) throw new RuntimeError(`subnet ${subnet} is too small for ${members.length} containers`)
    const networkName = Object.keys(created[0]?.NetworkSettings.Networks ?? {})[0]
    if (networkName === undefined) throw new RuntimeError('compose created the containers on no network')
    const network = this.docker.getNetwork(networkName)
    for (let i = 0; i < members.length; i += PIN_PARALLEL_MAX) {
      await Promise.all(members.slice(i, i + PIN_PARALLEL_MAX).map(async (m, j) => {
        await network.disconnect({ Container: m.id, Force: true })
        await network.connect({ Container: m.id, EndpointConfig: { IPAMConfig: { IPv4Address: formatIpv4(cidr.base + PINNED_FIRST_HOST + i + j) }, Aliases: [m.service] } })
      }))
    }
  }

  /** An injection gives a reserve peer new settings after prepare: its env.json entry follows. */
  protected override async beforeStart (spec: ProcessSpec): Promise<void> {
    const s = await this.state()
    if (s.attached || s.configDir === null) return
    const id = s.containers[spec.name]
    if (id === undefined) return
    const env = JSON.parse(await readFile(this.envFile, 'utf8')) as Record<string, Record<string, string>>
    const want = { ...spec.env, ...this.labEnv(s) }
    if (JSON.stringify(env[hostnameOf(id)]) === JSON.stringify(want)) return
    env[hostnameOf(id)] = want
    // Atomic: the folder, not the file, is mounted, so the container sees the new file.
    await writeJsonAtomic(this.envFile, env)
  }

  protected async containerId (name: string): Promise<string | null> {
    return (await this.state()).containers[name] ?? null
  }

  /** Process mode: a container's supervisor names its state file after its hostname, Docker's default (the short id), or on the host network after the short id itself. */
  protected ctlKey (name: string, state: DockerState): string | null {
    const id = state.containers[name]
    return id === undefined ? null : hostnameOf(id)
  }

  protected nameOf (c: { id: string, labels: Record<string, string>, name: string }): string | null {
    if (this.names === null) return c.labels[NAME_LABEL] ?? null
    return this.names.get(c.id) ?? null
  }

  protected override async refreshNames (): Promise<void> {
    const s = await this.stateOrNull()
    this.names = s === null ? null : new Map(Object.entries(s.containers).map(([name, id]) => [id, name]))
  }

  /** Attached networks only (a run of `up` has its reserve): a copy of a replica, recorded in docker.json. */
  async addLike (name: string, like: string, env: Record<string, string>): Promise<boolean> {
    const s = await this.state()
    if (!s.attached) return false
    const base = s.containers[like]
    if (base === undefined) throw new RuntimeError(`no container for ${like} in run ${this.run.runId}`)
    if (s.containers[name] !== undefined) throw new RuntimeError(`${name} already has a container`)
    const id = await cloneReplica(this.docker, { like: base, env: { ...env, PATCHDAY_PEER: name }, labels: { [NAME_LABEL]: name }, compose: s.compose })
    const next = { ...s, containers: { ...s.containers, [name]: id } }
    await writeDockerState(this.run, next)
    this.remember(next)
    await this.refreshNames()
    return true
  }

  async teardown (graceMs: number): Promise<TeardownResult> {
    const s = await this.stateOrNull()
    const label = await this.labelFilter()
    const running = (await this.docker.listContainers({ filters: { label: [label] } })).length
    const before = await this.leftovers()
    // Our own sweep first, a bounded number of containers at a time: Compose v1 stops every
    // container at once and timed out on 300 of them (its HTTP timeout is 60 s).
    const swept = await this.sweep(label, graceMs)
    if (s !== null && s.composeFile !== null) {
      // Then compose, which knows the project, for whatever it made that carries no label of ours.
      await composeCall('down', async () => await compose.downAll({ ...composeOptions(s), commandOptions: ['-v', '--remove-orphans', ['-t', String(Math.ceil(graceMs / 1000))]] }))
        .catch((err: unknown) => { process.stderr.write(`patchday: ${(err as Error).message}; continuing with the label sweep\n`) })
      await this.sweep(label, graceMs)
    }
    const left = await this.leftovers()
    if (left > 0) throw new RuntimeError(`${left} containers, networks or volumes labelled ${label} are still there after teardown`)
    return { stopped: running - swept.killed, killed: swept.killed, strays: s === null ? swept.removed : 0, removed: before }
  }
}

/** The compose service a process runs in: its own for the login server and bootstrap supernodes, else `peer`. */
function serviceOf (name: string, ownService: readonly string[]): string {
  return name === LOGIN_SERVICE || ownService.includes(name) ? name : PEER_SERVICE
}

/** Docker's default hostname of a container: the first 12 characters of its id (the key of a host-network container too). */
export function hostnameOf (containerId: string): string {
  return containerId.slice(0, SHORT_ID_CHARS)
}

