/**
 * The process restart mode is one implementation for compose and Swarm
 * (runtime/docker/engine.ts): each runtime only names its containers' state
 * files. Against a fake engine whose "supervisors" answer signals as
 * docker/supervise.sh does, a stop, start and kill are signals to the right
 * container, read back from the right file (compose: the short container id;
 * Swarm: the task's hostname, `peer-<slot>` or the service name), and no
 * container is ever stopped or started, which on Swarm would cost a task its
 * DNS name.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { RunDir } from '../../orchestrator/run/dir.ts'
import { writeDockerState, type DockerState } from '../../orchestrator/runtime/docker/state.ts'
import { SUPERVISOR_SIGNALS } from '../../orchestrator/runtime/docker/supervisor.ts'
import { ComposeRuntime } from '../../orchestrator/runtime/compose.ts'
import { SwarmRuntime } from '../../orchestrator/runtime/swarm.ts'
import type { ProcessSpec, Runtime } from '../../orchestrator/runtime/runtime.ts'

interface FakeContainer { id: string, name: string, labels: Record<string, string>, key: string }

/** The engine calls the runtimes make, with a supervise.sh stand-in per container writing `ctl/<key>`. */
class FakeEngine {
  readonly signals: Array<{ key: string, signal: string }> = []
  readonly containerOps: string[] = []
  private readonly starts = new Map<string, number>()
  private readonly containers: FakeContainer[]
  private readonly ctl: string
  constructor (containers: FakeContainer[], ctl: string) {
    this.containers = containers
    this.ctl = ctl
  }

  /** The supervisor of `key` launched its peer (as at its container's start). */
  launch (key: string): void {
    const n = (this.starts.get(key) ?? 0) + 1
    this.starts.set(key, n)
    writeFileSync(join(this.ctl, key), `running ${n} ${100 + n}\n`)
  }

  private exit (key: string, code: number): void {
    writeFileSync(join(this.ctl, key), `exited ${this.starts.get(key) ?? 0} ${code}\n`)
  }

  async listContainers (): Promise<Docker.ContainerInfo[]> {
    return this.containers.map(c => ({ Id: c.id, Names: [`/${c.name}`], Labels: c.labels, State: 'running', Created: 1 })) as unknown as Docker.ContainerInfo[]
  }

  getContainer (id: string): unknown {
    const c = this.containers.find(x => x.id === id)
    if (c === undefined) throw new Error(`no container ${id}`)
    return {
      inspect: async () => ({ Name: `/${c.name}`, State: { Running: true, Status: 'running', ExitCode: 0, OOMKilled: false } }),
      kill: async ({ signal }: { signal: string }) => {
        this.signals.push({ key: c.key, signal })
        // What docker/supervise.sh does, at once.
        if (signal === SUPERVISOR_SIGNALS.stop) this.exit(c.key, 0)
        else if (signal === SUPERVISOR_SIGNALS.kill) this.exit(c.key, 137)
        else if (signal === SUPERVISOR_SIGNALS.start) this.launch(c.key)
      },
      start: async () => { this.containerOps.push(`start ${c.key}`) },
      stop: async () => { this.containerOps.push(`stop ${c.key}`) },
      wait: async () => ({}),
      logs: async () => Buffer.alloc(0)
    }
  }
}

const spec = (name: string): ProcessSpec => ({ name, env: {} })

async function exercise (rt: Runtime, engine: FakeEngine, victim: { name: string, key: string }, other: { name: string, key: string }, runningAtDeploy: boolean): Promise<void> {
  const running = async (name: string): Promise<boolean | undefined> => (await rt.list()).find(p => p.name === name)?.running
  assert.equal(await running(victim.name), true)
  if (runningAtDeploy) {
    // Swarm started the task, and with it the peer, at deploy: the paced start is done already.
    await rt.start(spec(victim.name))
    assert.deepEqual(engine.signals, [])
  } else {
    await assert.rejects(rt.start(spec(victim.name)), /already running/)
  }
  assert.equal(await rt.stop(victim.name, 2000), 'stopped')
  assert.equal(await running(victim.name), false, 'its container runs, its peer does not')
  assert.equal(await running(other.name), true)
  assert.equal(await rt.stop(victim.name, 2000), 'absent')
  await rt.start(spec(victim.name))
  assert.equal(await running(victim.name), true)
  assert.equal(await rt.kill(other.name), 'killed')
  assert.match(await rt.explainExit(other.name), new RegExp(`^peer process exited with code 137 \\(its 1st start; container ${other.key} still running\\), no error output$`))
  assert.deepEqual(engine.signals, [
    { key: victim.key, signal: SUPERVISOR_SIGNALS.stop },
    { key: victim.key, signal: SUPERVISOR_SIGNALS.start },
    { key: other.key, signal: SUPERVISOR_SIGNALS.kill }
  ])
  assert.deepEqual(engine.containerOps, [], 'no container was stopped or started')
}

async function runFolder (state: Omit<DockerState, 'version' | 'label' | 'compose' | 'workingDir' | 'subnet' | 'image' | 'attached' | 'composeFile'>, root: string, runId: string): Promise<{ run: RunDir, ctl: string }> {
  const run = new RunDir(root, runId)
  await run.create()
  const ctl = join(run.root, 'ctl')
  await mkdir(ctl)
  await writeDockerState(run, { version: 1, label: `patchday.run=${runId}`, compose: 'v2', workingDir: run.root, subnet: '10.216.0.0/20', image: 'patchday:test', attached: false, composeFile: null, ...state })
  return { run, ctl }
}

test('Swarm process mode: signals go to the task\'s container and its state is read from the file named by its hostname (peer-<slot>, or the service name)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'patchday-sup-swarm-'))
  try {
    const stack = 'patchday-r1'
    const task = (svc: string, slot: number, id: string, key: string): FakeContainer => ({ id, key, name: `${stack}_${svc}.${slot}.x${id}`, labels: { 'patchday.run': 'r1', 'com.docker.swarm.service.name': `${stack}_${svc}`, 'com.docker.stack.namespace': stack } })
    const containers = [task('login', 1, 'c0', 'login'), task('p-001', 1, 'c1', 'p-001'), task('peer', 1, 'c2', 'peer-1'), task('peer', 2, 'c3', 'peer-2')]
    const { run, ctl } = await runFolder({ kind: 'swarm', project: stack, containers: { login: 'login', 'p-001': 'p-001', 'p-002': 'peer-1', 'p-003': 'peer-2' }, configDir: null }, root, 'r1')
    const engine = new FakeEngine(containers, ctl)
    for (const c of containers) engine.launch(c.key)
    const rt = new SwarmRuntime(run, {}, engine as unknown as Docker)
    assert.equal(rt.restartMode, 'process', 'Swarm\'s default')
    // A bootstrap supernode (a service of its own) and a replica of `peer`.
    await exercise(rt, engine, { name: 'p-001', key: 'p-001' }, { name: 'p-003', key: 'peer-2' }, true)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('compose process mode: the same operations, with each state file named by its container\'s short id', async () => {
  const root = mkdtempSync(join(tmpdir(), 'patchday-sup-compose-'))
  try {
    const id = (n: number): string => String(n).repeat(64)
    const containers = [1, 2, 3].map(n => ({ id: id(n), key: id(n).slice(0, 12), name: `c${n}`, labels: { 'patchday.run': 'r2' } }))
    const { run, ctl } = await runFolder({ kind: 'compose', project: 'patchday-r2', containers: { login: id(1), 'p-001': id(2), 'p-002': id(3) }, configDir: null }, root, 'r2')
    const engine = new FakeEngine(containers, ctl)
    for (const c of containers) engine.launch(c.key)
    const rt = new ComposeRuntime(run, { restartMode: 'process' }, engine as unknown as Docker)
    await exercise(rt, engine, { name: 'p-001', key: id(2).slice(0, 12) }, { name: 'p-002', key: id(3).slice(0, 12) }, false)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
