/**
 * The compose file, generated (never hand-kept, so that it cannot drift from
 * what the orchestrator expects): one login service, one service per bootstrap
 * supernode (their names are well known: everyone dials them first), and one
 * scaled `peer` service for everyone else. Pure: a function of its options.
 *
 * Two flavours from the same services:
 * - standalone (the top-level compose.yaml): `docker compose up -d --scale
 *   peer=N` needs no orchestrator; every process takes its settings from its
 *   environment, peers name themselves after their container (`peer-{hostname}`)
 *   and derive identities and passwords from the lab secret.
 * - run (runs/<id>/compose.yaml, written by `up --runtime compose|swarm`): each
 *   container reads its own settings from the run's env file, keyed by its
 *   hostname, so that every replica of `peer` can be a different peer of the plan.
 *   With the host network (`--network host`) every container shares the host's
 *   network stack and so its hostname: it reads its settings by its container id
 *   instead (PATCHDAY_ENV_KEY=container-id), and there is no network of the run.
 */
import { stringify } from 'yaml'
import { LOGIN_PORT, PEER_PORT } from './local-addresses.ts'
import { LOGIN_NODE_FLAGS, PEER_NODE_FLAGS } from './local.ts'
import type { NetworkMode } from './runtime.ts'

export const PEER_SERVICE = 'peer'
export const LOGIN_SERVICE = 'login'
export { LOGIN_PORT, PEER_PORT }
/** Inside every container: the peer's state (identity, host cache, boot count) lives in its writable layer. */
export const CONTAINER_STATE_DIR = '/state'
/** Inside every container: the run's config folder (env.json), bind-mounted read-only. */
export const CONTAINER_CONFIG_DIR = '/patchday/config'
export const ENV_FILE_NAME = 'env.json'
/** Inside every container of a process-restart run: the supervisors' state files, bind-mounted read-write. */
export const CONTAINER_CTL_DIR = '/patchday/ctl'
/** Inside every container of a compose run: one Node compile cache for the whole run, bind-mounted read-write. */
export const CONTAINER_CACHE_DIR = '/patchday/cache'
/** The in-container supervisor of the process restart mode (docker/supervise.sh, copied by the Dockerfile). */
export const SUPERVISOR_COMMAND = ['/bin/sh', '/app/supervise.sh']
export const LAB_NETWORK = 'lab'
/** The same Node flags as local peers and login server (runtime/local.ts). */
export const PEER_COMMAND = ['node', ...PEER_NODE_FLAGS, '/app/peer.mjs']
export const LOGIN_COMMAND = ['node', ...LOGIN_NODE_FLAGS, '/app/peer.mjs']
/** Label on every container, network and volume of a run. */
export const RUN_LABEL = 'patchday.run'
export const ROLE_LABEL = 'patchday.role'
export const NAME_LABEL = 'patchday.name'
/** A standalone network's bootstrap supernodes: 3 x slotsMax clients before the election must add more. */
export const STANDALONE_BOOTSTRAP = 3
export const STANDALONE_SUBNET = '10.212.0.0/20'
export const STANDALONE_LAB_SECRET = 'patchday-lab-secret-not-for-production'

export interface ServiceSpec {
  image: string
  init: true
  restart: 'no'
  command: string[]
  stop_grace_period: string
  ulimits: { nofile: { soft: number, hard: number } }
  logging: { driver: 'json-file', options: Record<string, string> }
  labels: Record<string, string>
  environment: Record<string, string>
  networks?: string[]
  network_mode?: 'host'
  volumes?: string[]
  depends_on?: string[]
  hostname?: string
  deploy?: Record<string, unknown>
  build?: Record<string, unknown>
}

export interface ComposeSpec {
  services: Record<string, ServiceSpec>
  networks?: Record<string, { driver?: string, attachable?: boolean, ipam: { config: Array<{ subnet: string }> }, labels: Record<string, string> }>
}

export interface RunComposeOptions {
  runId: string
  image: string
  subnet: string
  /** Bootstrap supernodes by name (one service each). */
  bootstrap: string[]
  /** Host folder with env.json, relative to the compose file or absolute. */
  configDir: string
  /** Swarm: a `deploy` section per service (replicas, restart policy, dnsrr). */
  swarm?: { peerReplicas: number }
  graceS?: number
  /** Process restarts: every container runs its process under docker/supervise.sh, whose state files go to this host folder (relative to the compose file, or absolute: Swarm). */
  supervised?: { ctlDir: string }
  /**
   * A host folder every container shares as its Node compile cache, as local processes share
   * one: the first peer to boot compiles the bundle for all (without it each container compiles
   * it afresh: about 100 ms of CPU and 7 MB more per peer). Not for Swarm (one host's folder).
   */
  compileCacheDir?: string
  /**
   * `host`: every service on the host's network stack (`network_mode: host`): no network of the
   * run, no subnet; the containers share the host's hostname, so each reads its env.json entry by
   * its container id. Compose only (Swarm's tasks need their overlay network). Default bridge.
   */
  network?: NetworkMode
}

/** What tells a container of a host-network run to key its settings (env.json) and its supervisor's state file by its container id. */
export const ENV_KEY_CONTAINER_ID = { PATCHDAY_ENV_KEY: 'container-id' } as const

const GRACE_S_DEFAULT = 5
const NOFILE_MAX = 16384

function base (o: { image: string, runLabel: string, role: string, name: string, command: string[], graceS: number }): ServiceSpec {
  return {
    image: o.image,
    // tini as PID 1: SIGTERM reaches node, zombies are reaped.
    init: true,
    // The orchestrator owns every restart (a storm's boot delays); `docker kill` cancels a policy anyway.
    restart: 'no',
    command: o.command,
    stop_grace_period: `${o.graceS}s`,
    // Docker 25+ starts containers with 1024 open files; a supernode holds a socket per client.
    // 16384 stays under hosts whose own hard limit is low (20000 on our CI machines).
    ulimits: { nofile: { soft: NOFILE_MAX, hard: NOFILE_MAX } },
    // A backstop with a bound: the run's log files are filled by the orchestrator's collector.
    logging: { driver: 'json-file', options: { 'max-size': '20m', 'max-file': '5' } },
    labels: { [RUN_LABEL]: o.runLabel, [ROLE_LABEL]: o.role, [NAME_LABEL]: o.name },
    environment: {},
    networks: [LAB_NETWORK]
  }
}

function labNetwork (subnet: string, runLabel: string, swarm: boolean): ComposeSpec['networks'] {
  return { [LAB_NETWORK]: { ...(swarm ? { driver: 'overlay', attachable: true } : {}), ipam: { config: [{ subnet }] }, labels: { [RUN_LABEL]: runLabel } } }
}

/** runs/<id>/compose.yaml: every container's settings come from env.json by its hostname (by its container id on the host network). */
export function runCompose (o: RunComposeOptions): ComposeSpec {
  const graceS = o.graceS ?? GRACE_S_DEFAULT
  const host = o.network === 'host'
  if (host && o.swarm !== undefined) throw new Error('runCompose: a Swarm stack has no host network mode')
  const env: Record<string, string> = { PATCHDAY_ENV_FILE: `${CONTAINER_CONFIG_DIR}/${ENV_FILE_NAME}`, ...(host ? ENV_KEY_CONTAINER_ID : {}) }
  const volumes = [`${o.configDir}:${CONTAINER_CONFIG_DIR}:ro`]
  const cmd = (c: string[]): string[] => (o.supervised === undefined ? c : [...SUPERVISOR_COMMAND, ...c])
  if (o.compileCacheDir !== undefined) {
    env.NODE_COMPILE_CACHE = CONTAINER_CACHE_DIR
    volumes.push(`${o.compileCacheDir}:${CONTAINER_CACHE_DIR}`)
  }
  if (o.supervised !== undefined) {
    env.PATCHDAY_CTL_DIR = CONTAINER_CTL_DIR
    volumes.push(`${o.supervised.ctlDir}:${CONTAINER_CTL_DIR}`)
  }
  const swarm = o.swarm !== undefined
  // Swarm: one task per service for the well-known ones; names resolve to task IPs (dnsrr), restarts are ours.
  const deploy = (replicas: number): Record<string, unknown> => ({ replicas, endpoint_mode: 'dnsrr', restart_policy: { condition: 'none' } })
  const services: Record<string, ServiceSpec> = {}
  services[LOGIN_SERVICE] = { ...base({ image: o.image, runLabel: o.runId, role: 'login', name: LOGIN_SERVICE, command: cmd(LOGIN_COMMAND), graceS }), environment: env, volumes, ...(swarm ? { hostname: LOGIN_SERVICE, deploy: deploy(1) } : {}) }
  for (const name of o.bootstrap) {
    services[name] = { ...base({ image: o.image, runLabel: o.runId, role: 'supernode', name, command: cmd(PEER_COMMAND), graceS }), environment: env, volumes, ...(swarm ? { hostname: name, deploy: deploy(1) } : {}) }
  }
  // Swarm names each replica's hostname by its slot, the key of its settings in env.json.
  services[PEER_SERVICE] = { ...base({ image: o.image, runLabel: o.runId, role: 'peer', name: PEER_SERVICE, command: cmd(PEER_COMMAND), graceS }), environment: env, volumes, ...(swarm ? { hostname: `${PEER_SERVICE}-{{.Task.Slot}}`, deploy: deploy(o.swarm?.peerReplicas ?? 0) } : {}) }
  if (!host) return { services, networks: labNetwork(o.subnet, o.runId, swarm) }
  for (const svc of Object.values(services)) {
    delete svc.networks
    svc.network_mode = 'host'
  }
  return { services }
}

export interface StandaloneOptions {
  image: string
  baseImage: string
  bootstrap: number
  subnet: string
}

/**
 * The top-level compose.yaml. `${VAR:-default}` lets a user change the image,
 * subnet, lab secret and run label without editing it.
 */
export function standaloneCompose (o: StandaloneOptions): ComposeSpec {
  const runLabel = '${PATCHDAY_RUN_ID:-compose}'
  const secret = `\${PATCHDAY_LAB_SECRET:-${STANDALONE_LAB_SECRET}}`
  const image = `\${PATCHDAY_IMAGE:-${o.image}}`
  const common = { PATCHDAY_RUN_ID: runLabel, PATCHDAY_SEED: '${PATCHDAY_SEED:-compose}', PATCHDAY_LAB_SECRET: secret, PATCHDAY_STATE_DIR: CONTAINER_STATE_DIR, PATCHDAY_LISTEN_IP: '0.0.0.0', PATCHDAY_ANNOUNCE_IP: 'auto', PATCHDAY_LAB_SUBNET: `\${PATCHDAY_SUBNET:-${o.subnet}}` }
  const boots = Array.from({ length: o.bootstrap }, (_, i) => `boot-${i + 1}`)
  // Peers dial the login server and the bootstrap supernodes by name; their ids derive from the lab secret.
  const peerEnv = { ...common, PATCHDAY_ROLE: 'peer', PATCHDAY_PORT: String(PEER_PORT), PATCHDAY_LOGIN_ADDR: `/dns4/${LOGIN_SERVICE}/tcp/${LOGIN_PORT}`, PATCHDAY_BOOTSTRAP_ADDRS: boots.map(b => `${b}=/dns4/${b}/tcp/${PEER_PORT}`).join(',') }
  const services: Record<string, ServiceSpec> = {}
  services[LOGIN_SERVICE] = {
    ...base({ image, runLabel, role: 'login', name: LOGIN_SERVICE, command: LOGIN_COMMAND, graceS: GRACE_S_DEFAULT }),
    // Only here: compose builds the image once if it is missing; every other service uses it.
    build: { context: '.', dockerfile: 'docker/Dockerfile', args: { BASE_IMAGE: `\${PATCHDAY_BASE_IMAGE:-${o.baseImage}}` } },
    environment: { ...common, PATCHDAY_ROLE: 'login', PATCHDAY_PEER: LOGIN_SERVICE, PATCHDAY_PORT: String(LOGIN_PORT) }
  }
  for (const b of boots) {
    services[b] = { ...base({ image, runLabel, role: 'supernode', name: b, command: PEER_COMMAND, graceS: GRACE_S_DEFAULT }), environment: { ...peerEnv, PATCHDAY_PEER: b, PATCHDAY_BOOTSTRAP: 'true', PATCHDAY_CAPACITY_CLASS: '3' }, depends_on: [LOGIN_SERVICE] }
  }
  services[PEER_SERVICE] = { ...base({ image, runLabel, role: 'peer', name: PEER_SERVICE, command: PEER_COMMAND, graceS: GRACE_S_DEFAULT }), environment: { ...peerEnv, PATCHDAY_PEER: 'peer-{hostname}', PATCHDAY_CAPACITY_CLASS: '2' }, depends_on: [LOGIN_SERVICE, ...boots] }
  return { services, networks: labNetwork(`\${PATCHDAY_SUBNET:-${o.subnet}}`, runLabel, false) }
}

export function composeYaml (spec: ComposeSpec, header: string[] = []): string {
  return header.map(l => (l === '' ? '#\n' : `# ${l}\n`)).join('') + stringify(spec, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })
}
