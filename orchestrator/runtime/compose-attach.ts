/**
 * Adopting a network that `docker compose up` started without
 * the orchestrator (the top-level compose.yaml). It becomes a run folder like
 * any other (run.json, network.json, docker.json, logs/), so status, logs,
 * storm, report and down work on it. Attaching again refreshes the container
 * list (after a `--scale` change) and keeps the logs collected so far.
 */
import type Docker from 'dockerode'
import { RunDir, setCurrentRun } from '../run/dir.ts'
import { UsageError } from '../errors.ts'
import { writeNetworkFile, type NetworkFile } from '../network/spec-file.ts'
import type { PeerPlan } from '../network/plan.ts'
import { dockerClient, selfName } from './docker/engine.ts'
import { readDockerState, writeDockerState } from './docker/state.ts'
import { checkDocker, detectCompose } from './docker/preflight.ts'
import { LOGIN_SERVICE, NAME_LABEL, ROLE_LABEL, RUN_LABEL } from './compose-file.ts'
import { openJournal } from '../run/journal.ts'

const PROJECT_LABEL = 'com.docker.compose.project'

export interface AttachArgs { runsDir: string, project?: string, runId?: string }
export interface Adopted { run: RunDir, project: string, peers: number }

interface Member { id: string, name: string, role: string, env: Map<string, string>, running: boolean }

function envMap (env: string[] | undefined): Map<string, string> {
  return new Map((env ?? []).map(e => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
}

async function members (docker: Docker, project: string): Promise<Member[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`, ROLE_LABEL] } })
  const out: Member[] = []
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect()
    const name = c.Labels[ROLE_LABEL] === 'peer' ? selfName(info.Config.Env, info.Config.Hostname) : c.Labels[NAME_LABEL] ?? null
    if (name === null) continue
    out.push({ id: c.Id, name, role: c.Labels[ROLE_LABEL] ?? 'peer', env: envMap(info.Config.Env), running: c.State === 'running' })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
}

/** Write the run folder of a compose project found by its containers; the caller opens its runtime. */
export async function adoptComposeProject (a: AttachArgs): Promise<Adopted> {
  const docker = dockerClient()
  await checkDocker(docker)
  const all = await docker.listContainers({ all: true, filters: { label: [ROLE_LABEL] } })
  const projects = [...new Set(all.map(c => c.Labels[PROJECT_LABEL]).filter((p): p is string => p !== undefined))].sort()
  if (a.project !== undefined && !projects.includes(a.project)) throw new UsageError(`no compose project ${a.project} with patchday containers (found: ${projects.join(', ') || 'none'})`)
  if (a.project === undefined && projects.length === 0) throw new UsageError('no patchday containers found: start a network with `docker compose up -d --scale peer=N`')
  if (a.project === undefined && projects.length > 1) throw new UsageError(`several compose projects run patchday containers (${projects.join(', ')}): pick one with --project`)
  const project = a.project ?? projects[0] as string
  // A network `patchday up --runtime compose` started has its run folder already: attaching makes it current.
  const runLabel = all.find(c => c.Labels[PROJECT_LABEL] === project)?.Labels[RUN_LABEL]
  if (runLabel !== undefined && a.runId === undefined) {
    const own = new RunDir(a.runsDir, runLabel)
    if ((await readDockerState(own))?.project === project) {
      await setCurrentRun(a.runsDir, runLabel)
      return { run: own, project, peers: (await own.readMeta()).peers.length }
    }
  }
  const found = await members(docker, project)
  const login = found.find(m => m.name === LOGIN_SERVICE)
  const peers = found.filter(m => m.role !== 'login')
  if (login === undefined || peers.length === 0) throw new UsageError(`compose project ${project} has no login server or no peers: is it patchday's compose.yaml?`)
  const anyPeer = peers[0] as Member
  const first = all.find(c => c.Labels[PROJECT_LABEL] === project)
  const workingDir = first?.Labels['com.docker.compose.project.working_dir'] ?? process.cwd()
  const composeFile = first?.Labels['com.docker.compose.project.config_files']?.split(',')[0] ?? null
  const runId = a.runId ?? project
  const run = new RunDir(a.runsDir, runId)
  await run.create()
  const plan: NetworkFile['plan'] = {
    seed: anyPeer.env.get('PATCHDAY_SEED') ?? project,
    login: { name: LOGIN_SERVICE },
    peers: peers.map((m, i): PeerPlan => ({
      name: m.name,
      index: i + 1,
      bootstrap: m.env.get('PATCHDAY_BOOTSTRAP') === 'true',
      capacityClass: Number(m.env.get('PATCHDAY_CAPACITY_CLASS') ?? 1),
      reachable: m.env.get('PATCHDAY_REACHABLE') !== 'false'
    })),
    reserve: [],
    settings: {}
  }
  const provisioned = { loginAddr: anyPeer.env.get('PATCHDAY_LOGIN_ADDR') ?? '', bootstrapAddrs: (anyPeer.env.get('PATCHDAY_BOOTSTRAP_ADDRS') ?? '').split(',').filter(s => s !== '') }
  await writeNetworkFile(run, { version: 1, plan, provisioned, perPeer: {} })
  const compose = await detectCompose()
  await writeDockerState(run, {
    version: 1,
    kind: 'compose',
    project,
    label: `${PROJECT_LABEL}=${project}`,
    compose: compose.kind,
    composeFile,
    workingDir,
    subnet: anyPeer.env.get('PATCHDAY_LAB_SUBNET') ?? '',
    image: (await docker.getContainer(anyPeer.id).inspect()).Config.Image,
    containers: Object.fromEntries(found.map(m => [m.name, m.id])),
    attached: true,
    configDir: null
  })
  await run.writeMeta({
    version: 1,
    runId,
    seed: plan.seed,
    runtime: 'compose',
    createdAt: new Date().toISOString(),
    timeScale: Number(anyPeer.env.get('PATCHDAY_TIME_SCALE') ?? 1),
    peers: plan.peers.map(p => ({ name: p.name, bootstrap: p.bootstrap, capacityClass: p.capacityClass })),
    login: { name: LOGIN_SERVICE, addr: provisioned.loginAddr }
  })
  await setCurrentRun(a.runsDir, runId)
  openJournal(run.logFile('orchestrator'), runId).event('net.attach', { project, peers: peers.length })
  return { run, project, peers: peers.length }
}
