/**
 * compose.yaml and the orchestrator agree: the file is what the generator gives
 * today, its services are the ones the runtimes and `attach` look for, every
 * variable it sets is a setting the peer parses, its ports are the runtime's,
 * and every service's environment (defaults substituted, as Compose would)
 * parses into a valid peer config inside a container of its subnet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { renderCompose, COMPOSE_PATH } from '../../scripts/gen-compose.ts'
import { CONFIG_SPEC, parseConfig, type HostFacts } from '../../node/contract/config.ts'
import { LOGIN_PORT, LOGIN_SERVICE, PEER_PORT, PEER_SERVICE, RUN_LABEL, ROLE_LABEL, NAME_LABEL, CONTAINER_CACHE_DIR, CONTAINER_CONFIG_DIR, CONTAINER_CTL_DIR, ENV_FILE_NAME, STANDALONE_BOOTSTRAP, SUPERVISOR_COMMAND, composeYaml, runCompose, type ComposeSpec } from '../../orchestrator/runtime/compose-file.ts'
import { ComposeRuntime } from '../../orchestrator/runtime/compose.ts'
import { RunDir } from '../../orchestrator/run/dir.ts'
import { checkNetworkMode, checkRestartMode, openRuntime, parseNetworkMode, parseRestartMode } from '../../orchestrator/runtime/index.ts'
import type { NetworkMode, RestartMode } from '../../orchestrator/runtime/runtime.ts'
import { LOGIN_IP, peerIp, reserveIp } from '../../orchestrator/runtime/local-addresses.ts'
import { buildCli, main } from '../../orchestrator/cli.ts'
import { UsageError } from '../../orchestrator/errors.ts'

const TEXT = readFileSync(COMPOSE_PATH, 'utf8')
const SPEC = parse(TEXT) as ComposeSpec
const ENV_NAMES = new Set<string>(Object.values(CONFIG_SPEC).map(s => s.env))

/** What Compose does to `${VAR:-default}` with VAR unset. */
function defaults (value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
}

test('compose.yaml is up to date with the generator (regenerate with scripts/gen-compose.ts)', () => {
  assert.equal(TEXT, renderCompose())
})

test('compose.yaml has the services attach and the runtimes look for, each labelled for cleanup', () => {
  const boots = Array.from({ length: STANDALONE_BOOTSTRAP }, (_, i) => `boot-${i + 1}`)
  assert.deepEqual(Object.keys(SPEC.services).sort(), [LOGIN_SERVICE, ...boots, PEER_SERVICE].sort())
  for (const [name, s] of Object.entries(SPEC.services)) {
    assert.ok(RUN_LABEL in s.labels && ROLE_LABEL in s.labels, `${name} carries the run and role labels`)
    assert.equal(s.labels[NAME_LABEL], name)
    assert.equal(s.restart, 'no', `${name}: the orchestrator owns restarts`)
    assert.equal(s.init, true, `${name}: tini forwards SIGTERM`)
  }
  assert.equal(SPEC.services[LOGIN_SERVICE]?.labels[ROLE_LABEL], 'login')
  assert.equal(SPEC.services[PEER_SERVICE]?.labels[ROLE_LABEL], 'peer')
  // Quoted: YAML 1.1 (Compose v1) reads a bare `no` as false.
  assert.match(TEXT, /restart: "no"/)
})

test('every variable in compose.yaml is a peer setting, and ports and addresses match the runtime', () => {
  for (const [name, s] of Object.entries(SPEC.services)) {
    for (const key of Object.keys(s.environment)) assert.ok(ENV_NAMES.has(key), `${name} sets ${key}, which is not a setting`)
  }
  const env = (svc: string): Record<string, string> => Object.fromEntries(Object.entries(SPEC.services[svc]?.environment ?? {}).map(([k, v]) => [k, defaults(v)]))
  assert.equal(env(LOGIN_SERVICE).PATCHDAY_PORT, String(LOGIN_PORT))
  assert.equal(env(PEER_SERVICE).PATCHDAY_PORT, String(PEER_PORT))
  assert.equal(env(PEER_SERVICE).PATCHDAY_LOGIN_ADDR, `/dns4/${LOGIN_SERVICE}/tcp/${LOGIN_PORT}`)
  const bootstrap = env(PEER_SERVICE).PATCHDAY_BOOTSTRAP_ADDRS?.split(',') ?? []
  assert.equal(bootstrap.length, STANDALONE_BOOTSTRAP)
  for (const entry of bootstrap) {
    const [name, addr] = entry.split('=') as [string, string]
    assert.ok(name in SPEC.services, `bootstrap ${name} is a service`)
    assert.equal(addr, `/dns4/${name}/tcp/${PEER_PORT}`)
    assert.equal(env(name).PATCHDAY_PEER, name)
    assert.equal(env(name).PATCHDAY_BOOTSTRAP, 'true')
  }
})

test('every service of compose.yaml parses into a valid config inside a container on its subnet', () => {
  const subnet = defaults(SPEC.networks?.lab?.ipam.config[0]?.subnet ?? '')
  const ip = subnet.replace(/\.0\/\d+$/, '.7')
  const host: HostFacts = { hostname: () => '3f2a9c1d0e4b', interfaces: () => ({ eth0: [{ address: ip, family: 'IPv4', internal: false, netmask: '255.255.240.0', mac: '02:42:0a:d4:00:07', cidr: `${ip}/20` }] }) }
  for (const [name, s] of Object.entries(SPEC.services)) {
    const env = Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, defaults(v)]))
    const c = parseConfig(env, host)
    assert.equal(c.announceIp, ip, `${name} announces its address on the lab subnet`)
    assert.equal(c.peer, name === PEER_SERVICE ? 'peer-3f2a9c1d0e4b' : name)
    assert.ok(c.labSecret.length >= 16)
  }
})

test('a run file: every service reads env.json from the mounted config folder; Swarm names replicas by slot and never restarts them', () => {
  const compose = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.213.0.0/20', bootstrap: ['p-001', 'p-002'], configDir: './config' })
  assert.deepEqual(Object.keys(compose.services), [LOGIN_SERVICE, 'p-001', 'p-002', PEER_SERVICE])
  for (const s of Object.values(compose.services)) {
    assert.deepEqual(s.environment, { PATCHDAY_ENV_FILE: `${CONTAINER_CONFIG_DIR}/${ENV_FILE_NAME}` })
    // The folder, not the file: an atomic rewrite of env.json must reach a running container.
    assert.deepEqual(s.volumes, [`./config:${CONTAINER_CONFIG_DIR}:ro`])
    assert.equal(s.labels[RUN_LABEL], 'r1')
  }
  assert.deepEqual(compose.networks?.lab?.ipam.config, [{ subnet: '10.213.0.0/20' }])
  const swarm = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.216.0.0/20', bootstrap: ['p-001'], configDir: '/abs/config', swarm: { peerReplicas: 7 } })
  assert.equal(swarm.services[PEER_SERVICE]?.hostname, `${PEER_SERVICE}-{{.Task.Slot}}`)
  assert.deepEqual(swarm.services[PEER_SERVICE]?.deploy, { replicas: 7, endpoint_mode: 'dnsrr', restart_policy: { condition: 'none' } })
  assert.equal(swarm.networks?.lab?.driver, 'overlay')
})

test('a process-restart run file: every process runs under the supervisor the image ships, with the state folder mounted read-write', () => {
  const plain = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.213.0.0/20', bootstrap: ['p-001'], configDir: './config' })
  const sup = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.213.0.0/20', bootstrap: ['p-001'], configDir: './config', supervised: { ctlDir: './ctl' } })
  // The image copies docker/supervise.sh to the path the command names.
  assert.match(readFileSync(new URL('../../docker/Dockerfile', import.meta.url), 'utf8'), new RegExp(`COPY docker/supervise.sh ${SUPERVISOR_COMMAND[1] as string}`))
  assert.match(readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8'), /^!docker\/supervise\.sh$/m)
  for (const [name, s] of Object.entries(sup.services)) {
    const p = plain.services[name]
    assert.deepEqual(s.command, [...SUPERVISOR_COMMAND, ...(p?.command ?? [])], name)
    assert.equal(s.environment.PATCHDAY_CTL_DIR, CONTAINER_CTL_DIR)
    assert.deepEqual(s.volumes, [`./config:${CONTAINER_CONFIG_DIR}:ro`, `./ctl:${CONTAINER_CTL_DIR}`])
    // Still the orchestrator's alone to restart: Docker never restarts the container.
    assert.equal(s.restart, 'no')
  }
})

test('the compose runtime: well-known processes are dialled by service name, the rest announce themselves', () => {
  const rt = new ComposeRuntime(new RunDir('/nonexistent', 'r1'))
  assert.deepEqual(rt.endpoint({ name: LOGIN_SERVICE, group: 'login', index: 1, wellKnown: true }), { listenHost: '0.0.0.0', dialHost: LOGIN_SERVICE, port: LOGIN_PORT })
  assert.deepEqual(rt.endpoint({ name: 'p-001', group: 'peer', index: 1, wellKnown: true }), { listenHost: '0.0.0.0', dialHost: 'p-001', port: PEER_PORT })
  assert.equal(rt.endpoint({ name: 'p-009', group: 'peer', index: 9, wellKnown: false }).dialHost, null)
  assert.equal(rt.wiring({ name: 'p-009', group: 'peer', index: 9, wellKnown: false }).PATCHDAY_ANNOUNCE_IP, 'auto')
})

test('a compose run shares one Node compile cache among its containers, mounted read-write', () => {
  const c = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.213.0.0/20', bootstrap: ['p-001'], configDir: './config', compileCacheDir: './cache' })
  for (const s of Object.values(c.services)) {
    assert.equal(s.environment.NODE_COMPILE_CACHE, CONTAINER_CACHE_DIR)
    assert.ok(s.volumes?.includes(`./cache:${CONTAINER_CACHE_DIR}`))
  }
})

test('a Swarm stack with process restarts: every task runs under the supervisor, with the absolute ctl folder mounted beside the config folder', () => {
  const stack = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.216.0.0/20', bootstrap: ['p-001'], configDir: '/abs/run/config', swarm: { peerReplicas: 3 }, supervised: { ctlDir: '/abs/run/ctl' } })
  assert.deepEqual(Object.keys(stack.services), [LOGIN_SERVICE, 'p-001', PEER_SERVICE])
  for (const [name, s] of Object.entries(stack.services)) {
    assert.deepEqual(s.command.slice(0, SUPERVISOR_COMMAND.length), SUPERVISOR_COMMAND, name)
    assert.equal(s.environment.PATCHDAY_CTL_DIR, CONTAINER_CTL_DIR)
    assert.deepEqual(s.volumes, [`/abs/run/config:${CONTAINER_CONFIG_DIR}:ro`, `/abs/run/ctl:${CONTAINER_CTL_DIR}`])
    // The supervisor names its state file after /etc/hostname: the keys docker.json records for Swarm.
    assert.equal(s.hostname, name === PEER_SERVICE ? `${PEER_SERVICE}-{{.Task.Slot}}` : name)
    assert.deepEqual(s.deploy?.restart_policy, { condition: 'none' }, `${name}: restarts stay the orchestrator's`)
    // No compile cache: one host's folder, and Swarm spans hosts.
    assert.equal(s.environment.NODE_COMPILE_CACHE, undefined)
  }
})

test('--restart-mode: compose and Swarm have both modes (compose restarts containers by default, Swarm processes), local only processes; anything else is a usage error', () => {
  assert.equal(checkRestartMode('compose', undefined), 'container')
  assert.equal(checkRestartMode('compose', 'process'), 'process')
  assert.equal(checkRestartMode('local', undefined), 'process')
  assert.equal(checkRestartMode('local', 'process'), 'process')
  assert.equal(checkRestartMode('swarm', undefined), 'process')
  assert.equal(checkRestartMode('swarm', 'process'), 'process')
  assert.equal(checkRestartMode('swarm', 'container'), 'container')
  assert.throws(() => checkRestartMode('local', 'container'), (e: Error) => e instanceof UsageError && /--runtime local/.test(e.message))
  assert.throws(() => parseRestartMode('vm'), UsageError)
  assert.equal(parseRestartMode('process'), 'process')
})

test('a run is reopened with the restart mode run.json records; one recorded before the modes restarted containers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-modes-'))
  try {
    const open = async (runtime: string, restartMode?: RestartMode): Promise<RestartMode> => {
      const run = new RunDir(dir, `${runtime}-${restartMode ?? 'none'}`)
      await run.create()
      await run.writeMeta({ version: 1, runId: run.runId, seed: 's', runtime, ...(restartMode !== undefined ? { restartMode } : {}), createdAt: new Date(0).toISOString(), timeScale: 1, peers: [], login: { name: 'login', addr: '' } })
      return (await openRuntime(run)).restartMode
    }
    assert.equal(await open('swarm', 'process'), 'process')
    assert.equal(await open('swarm', 'container'), 'container')
    assert.equal(await open('swarm'), 'container')
    assert.equal(await open('compose'), 'container')
    assert.equal(await open('compose', 'process'), 'process')
    assert.equal(await open('local'), 'process')
    // A new run without --restart-mode takes the runtime's default.
    assert.equal((await openRuntime(new RunDir(dir, 'new-swarm'), 'swarm')).restartMode, 'process')
    assert.equal((await openRuntime(new RunDir(dir, 'new-compose'), 'compose')).restartMode, 'container')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a host-network run file: every service on the host\'s network stack, no network of the run, each container keyed by its id', () => {
  const bridge = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '10.213.0.0/20', bootstrap: ['p-001'], configDir: './config', supervised: { ctlDir: './ctl' } })
  const host = runCompose({ runId: 'r1', image: 'patchday:test', subnet: '', bootstrap: ['p-001'], configDir: './config', supervised: { ctlDir: './ctl' }, network: 'host' })
  assert.equal(host.networks, undefined, 'no network to create, none to remove')
  assert.deepEqual(Object.keys(host.services), [LOGIN_SERVICE, 'p-001', PEER_SERVICE])
  for (const [name, s] of Object.entries(host.services)) {
    assert.equal(s.network_mode, 'host', name)
    assert.equal(s.networks, undefined, name)
    // All containers have the host's hostname: the peer and the supervisor key by container id.
    assert.equal(s.hostname, undefined, name)
    assert.equal(s.environment.PATCHDAY_ENV_KEY, 'container-id', name)
    assert.ok(ENV_NAMES.has('PATCHDAY_ENV_KEY'), 'a setting the peer parses')
    // Everything else as on the bridge.
    const b = bridge.services[name]
    assert.deepEqual(s.command, b?.command)
    assert.deepEqual(s.volumes, b?.volumes)
    assert.equal(bridge.services[name]?.environment.PATCHDAY_ENV_KEY, undefined, `${name}: the bridge keeps hostname keys`)
    assert.equal(b?.network_mode, undefined)
  }
  // The text compose reads: no top-level networks, no subnet.
  const text = composeYaml(host)
  assert.doesNotMatch(text, /^networks:/m)
  assert.doesNotMatch(text, /subnet/)
  assert.match(text, /network_mode: host/)
  assert.throws(() => runCompose({ runId: 'r1', image: 'patchday:test', subnet: '', bootstrap: [], configDir: '/abs', swarm: { peerReplicas: 1 }, network: 'host' }))
})

test('the compose runtime on the host network: the local runtime\'s loopback addresses, announced as bound', () => {
  const rt = new ComposeRuntime(new RunDir('/nonexistent', 'r1'), { network: 'host' })
  assert.equal(rt.networkMode, 'host')
  assert.deepEqual(rt.endpoint({ name: LOGIN_SERVICE, group: 'login', index: 1, wellKnown: true }), { listenHost: LOGIN_IP, dialHost: LOGIN_IP, port: LOGIN_PORT })
  assert.deepEqual(rt.endpoint({ name: 'p-001', group: 'peer', index: 1, wellKnown: true }), { listenHost: peerIp(1), dialHost: peerIp(1), port: PEER_PORT })
  assert.deepEqual(rt.endpoint({ name: 'r-002', group: 'reserve', index: 2, wellKnown: false }), { listenHost: reserveIp(2), dialHost: reserveIp(2), port: PEER_PORT })
  const w = rt.wiring({ name: 'p-009', group: 'peer', index: 9, wellKnown: false })
  assert.deepEqual([w.PATCHDAY_LISTEN_IP, w.PATCHDAY_ANNOUNCE_IP, w.PATCHDAY_PORT], [peerIp(9), peerIp(9), String(PEER_PORT)])
  assert.equal(new ComposeRuntime(new RunDir('/nonexistent', 'r1')).networkMode, 'bridge')
})

test('--network: host only with compose (a usage error, exit 2, with swarm or local); bridge is the container runtimes\' default', async () => {
  assert.equal(checkNetworkMode('compose', undefined), 'bridge')
  assert.equal(checkNetworkMode('compose', 'host'), 'host')
  assert.equal(checkNetworkMode('swarm', undefined), 'bridge')
  assert.equal(checkNetworkMode('swarm', 'bridge'), 'bridge')
  assert.equal(checkNetworkMode('local', undefined), undefined)
  assert.throws(() => checkNetworkMode('swarm', 'host'), (e: Error) => e instanceof UsageError && /--network host .*--runtime compose, not swarm/.test(e.message))
  assert.throws(() => checkNetworkMode('local', 'host'), (e: Error) => e instanceof UsageError && /not local/.test(e.message))
  assert.throws(() => parseNetworkMode('overlay'), (e: Error) => e instanceof UsageError && /--network must be one of bridge, host/.test(e.message))
  // Through the CLI, before anything starts: exit 2.
  const runs = mkdtempSync(join(tmpdir(), 'patchday-network-opt-'))
  const stderr = process.stderr.write.bind(process.stderr)
  let said = ''
  process.stderr.write = ((chunk: string | Uint8Array): boolean => { said += String(chunk); return true }) as typeof process.stderr.write
  try {
    assert.equal(await main(['--runs-dir', runs, 'up', '--runtime', 'swarm', '--network', 'host', '--peers', '3']), 2)
    assert.equal(await main(['--runs-dir', runs, 'up', '--network', 'host', '--peers', '3']), 2)
    assert.equal(await main(['--runs-dir', runs, 'run', new URL('../../scenarios/calm.yaml', import.meta.url).pathname, '--runtime', 'swarm', '--network', 'host']), 2)
    assert.match(said, /--network host is only available with --runtime compose/)
    assert.deepEqual(readdirSync(runs), [], 'nothing written')
  } finally {
    process.stderr.write = stderr
    rmSync(runs, { recursive: true, force: true })
  }
  // --help says what it is for.
  const up = buildCli().commands.find(c => c.name() === 'up')
  assert.match(up?.helpInformation() ?? '', /--network <mode>/)
})

test('a run is reopened with the network run.json records; one recorded before the host network ran on a bridge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-networks-'))
  try {
    const open = async (runtime: string, network?: NetworkMode): Promise<NetworkMode | undefined> => {
      const run = new RunDir(dir, `${runtime}-${network ?? 'none'}`)
      await run.create()
      await run.writeMeta({ version: 1, runId: run.runId, seed: 's', runtime, ...(network !== undefined ? { network } : {}), createdAt: new Date(0).toISOString(), timeScale: 1, peers: [], login: { name: 'login', addr: '' } })
      return (await openRuntime(run)).networkMode
    }
    assert.equal(await open('compose', 'host'), 'host')
    assert.equal(await open('compose'), 'bridge')
    assert.equal(await open('compose', 'bridge'), 'bridge')
    assert.equal(await open('local'), undefined)
    assert.equal((await openRuntime(new RunDir(dir, 'new-compose'), 'compose', undefined, 'host')).networkMode, 'host')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
