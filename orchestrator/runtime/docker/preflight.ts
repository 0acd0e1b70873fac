/**
 * Checks before a Docker run starts anything: each failure is a DockerPreflightError
 * whose `code` names what is wrong and whose message says how to fix it, instead of
 * an ECONNREFUSED, a pull error or a bridge's "exchange full" halfway through `up`.
 *
 * The engine is reached through dockerode (one HTTP request per check); only the
 * compose version is read by running the CLI, since compose is a CLI.
 */
import { execFile } from 'node:child_process'
import { accessSync, constants as fsConstants } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { endianness } from 'node:os'
import { delimiter, join } from 'node:path'
import type Docker from 'dockerode'
import { UsageError } from '../../errors.ts'
import { IMAGE_DEFAULT, OFFLINE_BASE_IMAGE } from './image.ts'

export const DOCKER_PREFLIGHT_CODES = [
  'docker-missing', 'daemon-down', 'socket-permission', 'compose-missing',
  'image-missing', 'subnet-in-use', 'too-many-peers', 'run-leftovers'
] as const
export type DockerPreflightCode = typeof DOCKER_PREFLIGHT_CODES[number]

export class DockerPreflightError extends Error {
  override name = 'DockerPreflightError'
  readonly code: DockerPreflightCode
  constructor (code: DockerPreflightCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/**
 * A Linux bridge takes at most 1023 ports; past that, attaching a container fails with
 * "exchange full" (moby/moby#44973). Keep a margin for the gateway and stragglers.
 */
export const BRIDGE_CONTAINERS_MAX = 1000
export const COMPOSE_VERSION_TIMEOUT_MS = 10_000
export const DOCKER_PING_TIMEOUT_MS = 10_000

// ---- docker CLI ----------------------------------------------------------------

/** The docker CLI's path on env.PATH, or a 'docker-missing' error. */
export function checkDockerCli (env: NodeJS.ProcessEnv = process.env): string {
  const found = findOnPath('docker', env.PATH ?? '')
  if (found !== null) return found
  throw new DockerPreflightError('docker-missing',
    `no docker CLI on PATH (${env.PATH ?? ''}): install Docker (Debian: apt-get install docker.io; ` +
    'or docker-ce-cli from Docker\'s repository) and make sure `docker` is on PATH')
}

export function findOnPath (name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      continue // not in this directory (or not executable): try the next
    }
  }
  return null
}

// ---- compose ---------------------------------------------------------------------

export interface ComposeInfo {
  /** Which command runs compose: 'v2' is `docker compose` (the CLI plugin), 'v1' is `docker-compose`. */
  kind: 'v2' | 'v1'
  /** What `version --short` printed, without a leading 'v': "2.29.1", "1.29.2". */
  version: string
}

/** The version in `docker compose version --short` / `docker-compose version --short` output, or null. */
export function parseComposeVersion (stdout: string): string | null {
  const line = stdout.trim().split('\n')[0]?.trim() ?? ''
  const m = /^v?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?)$/.exec(line)
  return m?.[1] ?? null
}

/** PATCHDAY_COMPOSE forces one kind; unset or empty lets detectCompose choose (v2 first). */
export function composeChoice (env: NodeJS.ProcessEnv): 'v1' | 'v2' | undefined {
  const v = env.PATCHDAY_COMPOSE
  if (v === undefined || v === '') return undefined
  if (v === 'v1' || v === 'v2') return v
  throw new UsageError(`PATCHDAY_COMPOSE must be v1 or v2, not '${v}'`)
}

type Probe = { ok: true, version: string } | { ok: false, why: string }

async function probeCompose (file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Probe> {
  return await new Promise(resolve => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean }
        if (e.code === 'ENOENT') resolve({ ok: false, why: `${file} not found on PATH` })
        else if (e.killed === true) resolve({ ok: false, why: `no answer within ${timeoutMs} ms` })
        else resolve({ ok: false, why: (stderr.trim().split('\n')[0] ?? '') || e.message })
        return
      }
      const version = parseComposeVersion(stdout)
      resolve(version === null ? { ok: false, why: `unexpected output '${stdout.trim().slice(0, 80)}'` } : { ok: true, version })
    })
  })
}

/**
 * Which compose to run: `docker compose` (v2) when it works, else `docker-compose`;
 * PATCHDAY_COMPOSE=v1|v2 forces one. Binaries are looked up on env.PATH.
 */
export async function detectCompose (opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<ComposeInfo> {
  const env = opts.env ?? process.env
  const timeoutMs = opts.timeoutMs ?? COMPOSE_VERSION_TIMEOUT_MS
  const forced = composeChoice(env)
  const tried: string[] = []
  if (forced !== 'v1') {
    const v2 = await probeCompose('docker', ['compose', 'version', '--short'], env, timeoutMs)
    if (v2.ok) return { kind: 'v2', version: v2.version }
    tried.push(`\`docker compose version\`: ${v2.why}`)
  }
  if (forced !== 'v2') {
    const v1 = await probeCompose('docker-compose', ['version', '--short'], env, timeoutMs)
    if (v1.ok) return { kind: 'v1', version: v1.version }
    tried.push(`\`docker-compose version\`: ${v1.why}`)
  }
  const which = forced === undefined ? 'no Docker Compose works' : `Docker Compose ${forced} (forced by PATCHDAY_COMPOSE) does not work`
  throw new DockerPreflightError('compose-missing',
    `${which} (${tried.join('; ')}): install Compose v2 as a docker CLI plugin ` +
    '(docker-compose-plugin from Docker\'s apt repository, or the docker-compose binary of a v2 release in ' +
    '~/.docker/cli-plugins/docker-compose) or Compose v1 (Debian: apt-get install docker-compose)' +
    (forced === undefined ? '' : ', or unset PATCHDAY_COMPOSE'))
}

// ---- engine ----------------------------------------------------------------------

const DAEMON_DOWN_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTSOCK', 'EPIPE'])
const PERMISSION_CODES = new Set(['EACCES', 'EPERM'])

/** Where a client built from `env` talks to the engine, for messages (docker-modem's rules). */
export function dockerEndpoint (env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST
  return host === undefined || host === '' ? 'unix:///var/run/docker.sock' : host
}

/**
 * A connection error from dockerode as a preflight error ('daemon-down' or
 * 'socket-permission'), or null when it is something else.
 */
export function engineError (err: unknown, endpoint: string): DockerPreflightError | null {
  const e = err as NodeJS.ErrnoException & { address?: string }
  const code = typeof e?.code === 'string' ? e.code : ''
  const where = typeof e?.address === 'string' && e.address !== '' ? e.address : endpoint
  if (PERMISSION_CODES.has(code)) {
    return new DockerPreflightError('socket-permission',
      `no permission to use the Docker socket ${where} (${code}): add yourself to the docker group ` +
      '(sudo usermod -aG docker "$USER", then log in again) or run as root', { cause: err })
  }
  if (DAEMON_DOWN_CODES.has(code)) {
    const why = code === 'ENOENT' ? 'ENOENT: the socket does not exist' : code === 'ECONNREFUSED' ? 'ECONNREFUSED: connection refused' : `${code}: ${e.message}`
    return new DockerPreflightError('daemon-down',
      `the Docker daemon does not answer at ${where} (${why}): start it (sudo systemctl start docker; ` +
      'without systemd: sudo dockerd >/var/log/dockerd.log 2>&1 &), or point DOCKER_HOST at a running daemon', { cause: err })
  }
  return null
}

async function withTimeout<T> (p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(onTimeout()) }, ms) })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The engine answers a ping, or 'daemon-down' / 'socket-permission'. */
export async function checkDocker (docker: Docker, opts: { endpoint?: string, timeoutMs?: number } = {}): Promise<void> {
  const endpoint = opts.endpoint ?? dockerEndpoint()
  const timeoutMs = opts.timeoutMs ?? DOCKER_PING_TIMEOUT_MS
  try {
    await withTimeout(docker.ping(), timeoutMs, () => Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))
  } catch (err) {
    throw engineError(err, endpoint) ?? err
  }
}

/** The image is present in the engine (its id), or 'image-missing'. */
export async function checkImage (docker: Docker, tag: string, opts: { endpoint?: string } = {}): Promise<string> {
  try {
    const info = await docker.getImage(tag).inspect()
    return info.Id
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      const build = tag === IMAGE_DEFAULT ? "'npm run docker:build'" : `'npm run docker:build' (it tags ${IMAGE_DEFAULT}; for another tag, 'docker build -f docker/Dockerfile -t ${tag} .')`
      throw new DockerPreflightError('image-missing',
        `image ${tag} is not present in the Docker engine: build it with ${build}; on a machine without a registry, ` +
        `first 'npm run docker:base', then 'PATCHDAY_BASE_IMAGE=${OFFLINE_BASE_IMAGE} npm run docker:build'`, { cause: err })
    }
    throw engineError(err, opts.endpoint ?? dockerEndpoint()) ?? err
  }
}

// ---- leftovers of the run id ------------------------------------------------------

/**
 * Nothing in the engine carries the run's label yet, or 'run-leftovers'. Docker keeps its state
 * across restarts, so a run whose teardown failed (or whose folder was deleted) can leave a
 * network of the same run id behind, which Compose would reuse with its old subnet (found by CI:
 * "Invalid address ... does not belong to any of this network's subnets"). They are not removed
 * here: another runs folder may hold a live run of the same id.
 */
export async function checkNoLeftovers (docker: Pick<Docker, 'listContainers' | 'listNetworks'>, runId: string, label: string): Promise<void> {
  const filters = { label: [label] }
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })])
  if (containers.length === 0 && networks.length === 0) return
  const what = [
    ...(containers.length > 0 ? [`${containers.length} container${containers.length === 1 ? '' : 's'}`] : []),
    ...(networks.length > 0 ? [`network${networks.length === 1 ? '' : 's'} ${networks.map(n => n.Name).join(', ')}`] : [])
  ].join(' and ')
  throw new DockerPreflightError('run-leftovers',
    `the Docker engine still holds ${what} labelled ${label}, left by an earlier run of id ${runId}: ` +
    `stop it with 'patchday down --run ${runId}' from its runs folder, or remove them with ` +
    `'docker rm -f $(docker ps -aq --filter label=${label})' and 'docker network rm $(docker network ls -q --filter label=${label})', ` +
    'or choose another --run-id')
}

// ---- peers per bridge --------------------------------------------------------------

/** `containers` (peers, supernodes and the login server) fit on one bridge network, or 'too-many-peers'. */
export function checkPeerCount (containers: number): void {
  if (!Number.isSafeInteger(containers) || containers < 0) throw new UsageError(`a container count must be a whole number >= 0, not ${containers}`)
  if (containers <= BRIDGE_CONTAINERS_MAX) return
  throw new DockerPreflightError('too-many-peers',
    `${containers} containers do not fit on one Docker bridge network: a Linux bridge takes at most 1023 ports, ` +
    `past which Docker fails with "exchange full" (moby/moby#44973), so patchday puts at most ${BRIDGE_CONTAINERS_MAX} ` +
    'containers on one; run fewer peers per host (sharding over several bridges is not implemented)')
}

// ---- subnets ---------------------------------------------------------------------

export interface Cidr { base: number, prefix: number, text: string }
/** A CIDR with what it belongs to, for messages: "host route via eth0", "docker network pd". */
export interface NamedCidr { cidr: string, name: string }
export type CidrSource = string | NamedCidr

function parseIpv4 (s: string): number | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null
    n = n * 256 + Number(p)
  }
  return n
}

export function formatIpv4 (n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function maskOf (prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
}

/** An IPv4 CIDR ("10.231.0.0/24"; host bits are masked off), or null when it is not one. */
export function parseCidr (text: string): Cidr | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim())
  if (m === null) return null
  const ip = parseIpv4(m[1] ?? '')
  const prefix = Number(m[2])
  if (ip === null || prefix > 32) return null
  return { base: (ip & maskOf(prefix)) >>> 0, prefix, text: text.trim() }
}

/** Two CIDRs share at least one address: one contains the other's base address. */
export function cidrsOverlap (a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix)
  return ((a.base & maskOf(prefix)) >>> 0) === ((b.base & maskOf(prefix)) >>> 0)
}

function named (src: CidrSource, what: string): NamedCidr {
  return typeof src === 'string' ? { cidr: src, name: what } : src
}

/**
 * The lab subnet overlaps none of the host's routes or other Docker networks' subnets,
 * or 'subnet-in-use' naming both. Default routes (/0) are skipped: they cover everything
 * and are not a network of this host. IPv6 entries are skipped (the lab is IPv4).
 */
export function checkSubnet (subnet: string, hostRoutes: readonly CidrSource[], dockerSubnets: readonly CidrSource[]): void {
  const lab = parseCidr(subnet)
  if (lab === null) throw new UsageError(`--subnet must be an IPv4 CIDR like 10.77.0.0/20, not '${subnet}'`)
  if (formatIpv4(lab.base) !== subnet.trim().split('/')[0]) {
    throw new UsageError(`--subnet ${subnet} has host bits set: the network is ${formatIpv4(lab.base)}/${lab.prefix}`)
  }
  if (lab.prefix < 8 || lab.prefix > 29) throw new UsageError(`--subnet ${subnet}: the prefix must be between /8 and /29`)
  const taken: Array<NamedCidr & { parsed: Cidr }> = []
  for (const [list, what] of [[hostRoutes, 'host route'], [dockerSubnets, 'docker network']] as const) {
    for (const src of list) {
      const n = named(src, what)
      if (n.cidr.includes(':')) continue
      const parsed = parseCidr(n.cidr)
      if (parsed === null) throw new UsageError(`not an IPv4 CIDR: '${n.cidr}' (${n.name})`)
      if (parsed.prefix === 0) continue
      taken.push({ ...n, parsed })
    }
  }
  const clashes = taken.filter(t => cidrsOverlap(lab, t.parsed))
  if (clashes.length === 0) return
  const free = suggestSubnet(lab.prefix, taken.map(t => t.parsed))
  throw new DockerPreflightError('subnet-in-use',
    `the lab subnet ${formatIpv4(lab.base)}/${lab.prefix} overlaps ${clashes.map(c => `${c.name} ${c.cidr}`).join(', ')}: ` +
    `pick another with --subnet${free === null ? '' : ` (${free} is free)`}`)
}

/** A free private subnet of the given size in 10.0.0.0/8, for the message; null when none is. */
export function suggestSubnet (prefix: number, taken: readonly Cidr[]): string | null {
  if (prefix < 8 || prefix > 29) return null
  const step = 2 ** (32 - prefix)
  const first = parseIpv4('10.0.0.0') ?? 0
  const end = first + 2 ** 24
  // Start at 10.77.0.0 (the docs' example), wrap around to 10.0.0.0.
  const start = first + (prefix >= 16 ? 77 * 65536 : 0)
  for (let i = 0; i < 2 ** (prefix - 8) && i < 65536; i++) {
    const base = first + ((start - first + i * step) % (end - first))
    const c: Cidr = { base, prefix, text: `${formatIpv4(base)}/${prefix}` }
    if (!taken.some(t => cidrsOverlap(c, t))) return c.text
  }
  return null
}

// ---- the host's routes and Docker's networks (I/O) ------------------------------------

export interface HostRoute { cidr: string, iface: string }

/**
 * IPv4 routes from /proc/net/route: destination and mask are hex in host byte order
 * (so reversed on little-endian machines). Routes that are not up are left out.
 */
export function parseProcNetRoute (text: string, littleEndian = endianness() === 'LE'): HostRoute[] {
  const out: HostRoute[] = []
  const ip = (hex: string): number => {
    const n = Number.parseInt(hex, 16) >>> 0
    return littleEndian ? (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0 : n
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    const [iface, dest, , flags, , , , mask] = f
    if (iface === undefined || dest === undefined || flags === undefined || mask === undefined) continue
    if ((Number.parseInt(flags, 16) & 1) === 0) continue // RTF_UP
    const m = ip(mask)
    const prefix = 32 - Math.log2(((~m) >>> 0) + 1)
    if (!Number.isInteger(prefix)) continue // a non-contiguous mask is not a CIDR route
    out.push({ cidr: `${formatIpv4(ip(dest) & m)}/${prefix}`, iface })
  }
  return out
}

export async function readHostRoutes (file = '/proc/net/route'): Promise<HostRoute[]> {
  return parseProcNetRoute(await readFile(file, 'utf8'))
}

export interface DockerSubnet { cidr: string, network: string, bridge: string }

/** Every IPAM subnet of the engine's networks, with the network's name and bridge interface. */
export async function listDockerSubnets (docker: Docker): Promise<DockerSubnet[]> {
  const out: DockerSubnet[] = []
  for (const n of await docker.listNetworks()) {
    const bridge = n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`
    for (const c of n.IPAM?.Config ?? []) {
      if (c.Subnet !== undefined && c.Subnet !== '') out.push({ cidr: c.Subnet, network: n.Name, bridge })
    }
  }
  return out
}

/**
 * checkSubnet over this host's routes and the engine's networks. `ownNetwork` names the
 * lab's network when it exists already (a re-run): its subnet and its bridge's route are
 * the lab's own.
 */
export async function checkSubnetFree (docker: Docker, subnet: string, opts: { ownNetwork?: string, routeFile?: string } = {}): Promise<void> {
  const [routes, nets] = await Promise.all([readHostRoutes(opts.routeFile), listDockerSubnets(docker)])
  const others = nets.filter(n => n.network !== opts.ownNetwork)
  const ownBridges = new Set(nets.filter(n => n.network === opts.ownNetwork).map(n => n.bridge))
  const byBridge = new Map(nets.map(n => [n.bridge, n.network]))
  const hostRoutes = routes.filter(r => !ownBridges.has(r.iface)).map(r => {
    const net = byBridge.get(r.iface)
    return { cidr: r.cidr, name: `host route dev ${r.iface}${net === undefined ? '' : ` (docker network ${net})`}` }
  })
  checkSubnet(subnet, hostRoutes, others.map(n => ({ cidr: n.cidr, name: `docker network ${n.network}` })))
}

// ---- all of it ---------------------------------------------------------------------

export interface DockerPreflightInput {
  docker: Docker
  image: string
  /** The lab's bridge subnet; null on the host network (no bridge, no subnet, no limit of a bridge's ports). */
  subnet: string | null
  /** Peers, supernodes and the login server: everything on the lab's bridge. */
  containers: number
  env?: NodeJS.ProcessEnv
  ownNetwork?: string
}

/** Every check, cheapest first; the compose to use when all pass. */
export async function dockerPreflight (input: DockerPreflightInput): Promise<ComposeInfo> {
  const env = input.env ?? process.env
  if (input.subnet !== null) checkPeerCount(input.containers)
  checkDockerCli(env)
  await checkDocker(input.docker, { endpoint: dockerEndpoint(env) })
  const compose = await detectCompose({ env })
  await checkImage(input.docker, input.image, { endpoint: dockerEndpoint(env) })
  if (input.subnet !== null) await checkSubnetFree(input.docker, input.subnet, input.ownNetwork === undefined ? {} : { ownNetwork: input.ownNetwork })
  return compose
}
