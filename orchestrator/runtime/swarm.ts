/**
 * The Swarm runtime: the run's compose file deployed as a stack (`docker stack
 * deploy`), for networks that outgrow one machine. The login server and the
 * bootstrap supernodes are services of one task each (their names resolve to
 * the task, `dnsrr`); every other peer is a replica of the `peer` service,
 * whose hostname is `peer-<slot>`, the key of its settings in env.json.
 *
 * Swarm starts every task at deploy: start-up pacing cannot hold peers back, so
 * peers boot as fast as the nodes allow. Restarts are ours (`restart_policy:
 * none`). In the process restart mode (the default) every task runs its peer
 * under docker/supervise.sh and a storm signals it through its node's engine:
 * the task's container keeps running, and with it the task, its address and its
 * name in Swarm's DNS. In the container mode a storm stops or kills the task's
 * container and starts that same container again, which Swarm does not count as
 * its task coming back: a well-known task (login server, bootstrap supernode)
 * restarted so is no longer in Swarm's DNS, and whoever dials it by name fails.
 *
 * Tested on a one-node swarm. The env.json folder (and in process mode the
 * supervisors' ctl folder) is bind-mounted from the run folder, so every node
 * must see the run folder at the same path (shared storage), and the image must
 * be in a registry every node can pull from.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type Docker from 'dockerode'
import type { RunDir } from '../run/dir.ts'
import { writeJsonAtomic } from '../run/dir.ts'
import { RuntimeError, UsageError } from '../errors.ts'
import type { ProcessSpec, RestartMode, Runtime, TeardownResult } from './runtime.ts'
import { ENV_FILE_NAME, LOGIN_SERVICE, PEER_SERVICE, RUN_LABEL, composeYaml, runCompose } from './compose-file.ts'
import { DockerRuntimeBase, chooseSubnet, dockerClient } from './docker/engine.ts'
import { writeDockerState, type DockerState } from './docker/state.ts'
import { checkDocker, checkDockerCli, checkImage, checkPeerCount, DockerPreflightError } from './docker/preflight.ts'
import { IMAGE_DEFAULT } from './docker/image.ts'
import { projectName } from './compose.ts'

/** Overlay subnets for runs: /20 blocks of 10.216.0.0/16 (Swarm's default /24 holds about 250 tasks). */
const SUBNET_POOL = Array.from({ length: 16 }, (_, k) => `10.216.${k * 16}.0/20`)
const STACK_CALL_TIMEOUT_MS = 120_000
/** How long teardown waits for Swarm to remove the stack's network (`stack rm` returns before, moby/moby#29293). */
const STACK_RM_WAIT_MS = 60_000
const POLL_MS = 500
/** How long a start waits for Swarm to create a task's container. */
const TASK_WAIT_MS = 60_000

async function dockerCli (args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: STACK_CALL_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new RuntimeError(`docker ${args.slice(0, 2).join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' | ') || err.message}`))
      else resolve(stdout)
    })
  })
}

const SLOT = /\.(\d+)\.[a-z0-9]+$/

/**
 * Remove a stack. `stack rm` removes the services and then at once the networks, and a network
 * whose removed services' tasks are still shutting down fails "is in use by task" (found by CI):
 * `stack rm` is repeated, which finds the services gone and tries the networks again, for up to
 * `waitMs`; any other failure, or that one past the wait, stands.
 */
export async function removeStack (project: string, rm: (project: string) => Promise<unknown> = async p => await dockerCli(['stack', 'rm', p]), waitMs = STACK_RM_WAIT_MS, pollMs = POLL_MS): Promise<void> {
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      await rm(project)
      return
    } catch (err) {
      if (!(err instanceof Error && /is in use by task/i.test(err.message)) || Date.now() >= deadline) throw err
    }
    await sleep(pollMs)
  }
}

export class SwarmRuntime extends DockerRuntimeBase implements Runtime {
  readonly name = 'swarm'
  protected override readonly runningAtDeploy = true

  constructor (run: RunDir, o: { restartMode?: RestartMode } = {}, docker: Docker = dockerClient()) {
    super(run, o.restartMode ?? 'process', docker)
  }

  private get configDir (): string { return join(this.run.root, 'config') }

  private async requireSwarm (): Promise<void> {
    const info = await this.docker.info() as { Swarm?: { LocalNodeState?: string, ControlAvailable?: boolean } }
    if (info.Swarm?.LocalNodeState !== 'active') throw new DockerPreflightError('daemon-down', 'this Docker engine is not part of a swarm: run `docker swarm init` (one machine) or join one (`docker swarm join`), then try again')
    if (info.Swarm.ControlAvailable !== true) throw new DockerPreflightError('daemon-down', 'this Docker engine is a swarm worker: run patchday on a manager node')
  }

  async prepare (specs: ProcessSpec[]): Promise<void> {
    // The stack file's short volume syntax (host:container[:mode]) cannot hold a host path with a colon.
    if (this.run.root.includes(':')) throw new UsageError(`the runs folder ${this.run.root} has a ':' in its path, which a Swarm stack cannot mount: use another --runs-dir`)
    const image = process.env.PATCHDAY_IMAGE ?? IMAGE_DEFAULT
    checkPeerCount(specs.length)
    checkDockerCli()
    await checkDocker(this.docker)
    await this.requireSwarm()
    await checkImage(this.docker, image)
    const subnet = await chooseSubnet(this.docker, SUBNET_POOL, '10.216.0.0/16')
    const bootstrap = specs.filter(s => s.role === 'bootstrap').map(s => s.name)
    // A reserve for injections would be started at deploy like every task: Swarm runs have none.
    const others = specs.filter(s => s.role === 'peer')
    const containers: Record<string, string> = { [LOGIN_SERVICE]: LOGIN_SERVICE }
    for (const b of bootstrap) containers[b] = b
    others.forEach((s, i) => { containers[s.name] = `${PEER_SERVICE}-${i + 1}` })
    const env: Record<string, Record<string, string>> = {}
    for (const s of specs) {
      const key = containers[s.name]
      if (key !== undefined) env[key] = { ...s.env, PATCHDAY_LAB_SUBNET: subnet }
    }
    await mkdir(this.configDir, { recursive: true, mode: 0o755 })
    await writeJsonAtomic(join(this.configDir, ENV_FILE_NAME), env)
    if (this.supervisor !== null) {
      // Written by the supervisors, which run as the image's user (node, uid 1000), not as us.
      await mkdir(this.ctlDir, { recursive: true })
      await chmod(this.ctlDir, 0o777)
    }
    const file = join(this.run.root, 'stack.yaml')
    // An absolute host path, as for the config folder: every node mounts that same path (shared storage).
    const supervised = this.supervisor !== null ? { supervised: { ctlDir: this.ctlDir } } : {}
    await writeFile(file, composeYaml({ version: '3.8', ...runCompose({ runId: this.run.runId, image, subnet, bootstrap, configDir: this.configDir, swarm: { peerReplicas: others.length }, ...supervised }) } as never, [`patchday run ${this.run.runId}: generated by 'patchday up --runtime swarm'`]))
    const state: DockerState = { version: 1, kind: 'swarm', project: projectName(this.run.runId), label: `${RUN_LABEL}=${this.run.runId}`, compose: 'v2', composeFile: file, workingDir: this.run.root, subnet, image, containers, attached: false, configDir: this.configDir }
    await writeDockerState(this.run, state)
    this.remember(state)
    await dockerCli(['stack', 'deploy', '--detach=true', '--resolve-image', 'never', '-c', file, state.project])
  }

  /** `peer-3` for the third replica, the service name for the others. */
  private keyOf (labels: Record<string, string>, containerName: string): string | null {
    const svc = labels['com.docker.swarm.service.name']
    const stack = labels['com.docker.stack.namespace']
    if (svc === undefined || stack === undefined) return null
    const short = svc.slice(stack.length + 1)
    if (short !== PEER_SERVICE) return short
    const slot = SLOT.exec(containerName)?.[1]
    return slot === undefined ? null : `${PEER_SERVICE}-${slot}`
  }

  /** Slot key -> peer name from docker.json; null when docker.json is missing or unusable (then containers go by their keys). */
  private byKey: Map<string, string> | null | undefined = undefined

  private async keys (): Promise<void> {
    if (this.byKey !== undefined) return
    const s = await this.stateOrNull()
    this.byKey = s === null ? null : new Map(Object.entries(s.containers).map(([name, key]) => [key, name]))
  }

  protected nameOf (c: { id: string, labels: Record<string, string>, name: string }): string | null {
    const key = this.keyOf(c.labels, c.name)
    if (key === null || this.byKey === undefined) return null
    // Without docker.json (a corrupt one: `status` and `down` go on), a container is named by its slot key.
    return this.byKey === null ? key : this.byKey.get(key) ?? null
  }

  protected async containerId (name: string): Promise<string | null> {
    await this.keys()
    const all = await this.docker.listContainers({ all: true, filters: { label: [await this.labelFilter()] } })
    const mine = all.filter(c => this.nameOf({ id: c.Id, labels: c.Labels, name: (c.Names[0] ?? '').replace(/^\//, '') }) === name)
    // The newest container of the slot (Swarm keeps old ones of replaced tasks for a while).
    mine.sort((a, b) => b.Created - a.Created)
    return mine[0]?.Id ?? null
  }

  /** A task's supervisor names its state file after the task's hostname: the service name, or `peer-<slot>` (the key in docker.json). */
  protected ctlKey (name: string, state: DockerState): string | null {
    return state.containers[name] ?? null
  }

  /**
   * Swarm creates and starts every task's container at deploy: a start waits for a pending
   * task's container and then for Swarm to start it. A container Swarm has yet to start is
   * never started through the engine: that races Swarm's own start, and a task whose start
   * lost the race fails and leaves Swarm's DNS while its container runs on (seen once: the
   * login task, so that no client could log in).
   */
  protected override async containerToStart (name: string): Promise<Docker.Container> {
    const deadline = Date.now() + TASK_WAIT_MS
    let id = await this.containerId(name)
    while (id === null && Date.now() < deadline) {
      await sleep(POLL_MS)
      id = await this.containerId(name)
    }
    if (id === null) throw new RuntimeError(`Swarm created no task container for ${name} within ${TASK_WAIT_MS / 1000} s`)
    const c = this.docker.getContainer(id)
    while ((await c.inspect()).State.Status === 'created') {
      if (Date.now() >= deadline) throw new RuntimeError(`Swarm did not start the task container of ${name} within ${TASK_WAIT_MS / 1000} s`)
      await sleep(POLL_MS)
    }
    return c
  }

  protected override async refreshNames (): Promise<void> {
    await this.keys()
  }

  async teardown (graceMs: number): Promise<TeardownResult> {
    const label = await this.labelFilter()
    const running = (await this.docker.listContainers({ filters: { label: [label] } })).length
    const before = await this.leftovers()
    const s = await this.stateOrNull()
    const project = s?.project ?? projectName(this.run.runId)
    const stacks = await dockerCli(['stack', 'ls', '--format', '{{.Name}}']).catch((err: unknown) => {
      if (err instanceof RuntimeError && /not a swarm manager|swarm/i.test(err.message)) return ''
      throw err
    })
    if (stacks.split('\n').includes(project)) await removeStack(project)
    // `stack rm` returns before its tasks and network are gone.
    const deadline = Date.now() + STACK_RM_WAIT_MS
    while (Date.now() < deadline && (await this.docker.listNetworks({ filters: { label: [label] } })).length > 0) await sleep(POLL_MS)
    const swept = await this.sweep(label, graceMs)
    const left = await this.leftovers()
    if (left > 0) throw new RuntimeError(`${left} containers or networks labelled ${label} are still there after teardown`)
    return { stopped: running - swept.killed, killed: swept.killed, strays: 0, removed: before }
  }
}
