/** The Docker preflight's pure parts (CIDRs, routes, compose versions, peer count) and its error mapping, without Docker. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type Docker from 'dockerode'
import {
  BRIDGE_CONTAINERS_MAX, DOCKER_PREFLIGHT_CODES, DockerPreflightError, checkDocker, checkDockerCli, checkImage, checkNoLeftovers, checkPeerCount, checkSubnet,
  cidrsOverlap, composeChoice, detectCompose, engineError, parseCidr, parseComposeVersion, parseProcNetRoute, suggestSubnet,
  type Cidr
} from '../../orchestrator/runtime/docker/preflight.ts'
import { BASE_IMAGE_DEFAULT, IMAGE_DEFAULT, OFFLINE_BASE_IMAGE } from '../../orchestrator/runtime/docker/image.ts'
import { PEER_NODE_FLAGS } from '../../orchestrator/runtime/local.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function cidr (s: string): Cidr {
  const c = parseCidr(s)
  assert.ok(c !== null, s)
  return c
}

function preflightCode (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.equal((err as Error).name, 'DockerPreflightError', String(err))
    return (err as DockerPreflightError).code
  }
  assert.fail('expected a DockerPreflightError')
}

async function rejectsWith (p: Promise<unknown>, code: string): Promise<DockerPreflightError> {
  try {
    await p
  } catch (err) {
    assert.equal((err as Error).name, 'DockerPreflightError', String(err))
    assert.equal((err as DockerPreflightError).code, code, (err as Error).message)
    return err as DockerPreflightError
  }
  assert.fail(`expected a DockerPreflightError ${code}`)
}

test('image names: the app tag carries package.json\'s version; the Dockerfile builds FROM the default base and runs the peer flags', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  assert.equal(IMAGE_DEFAULT, `patchday:${pkg.version}`)
  assert.equal(BASE_IMAGE_DEFAULT, 'node:22-bookworm-slim')
  assert.equal(OFFLINE_BASE_IMAGE, 'patchday/node-base:22')
  const dockerfile = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8')
  assert.match(dockerfile, new RegExp(`^ARG BASE_IMAGE=${BASE_IMAGE_DEFAULT}$`, 'm'))
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1]
  assert.ok(cmd !== undefined, 'the Dockerfile has an exec-form CMD')
  assert.deepEqual(JSON.parse(cmd), ['node', ...PEER_NODE_FLAGS, '/app/peer.mjs'])
})

test('DockerPreflightError: a named error with a code from a closed set', () => {
  assert.deepEqual([...DOCKER_PREFLIGHT_CODES].sort(), ['compose-missing', 'daemon-down', 'docker-missing', 'image-missing', 'run-leftovers', 'socket-permission', 'subnet-in-use', 'too-many-peers'])
  const e = new DockerPreflightError('daemon-down', 'down', { cause: new Error('ENOENT') })
  assert.equal(e.name, 'DockerPreflightError')
  assert.equal(e.code, 'daemon-down')
  assert.ok(e instanceof Error)
  assert.equal((e.cause as Error).message, 'ENOENT')
})

test('parseCidr: IPv4 CIDRs only, host bits masked off', () => {
  assert.deepEqual(parseCidr('10.231.0.0/24'), { base: 0x0ae70000, prefix: 24, text: '10.231.0.0/24' })
  assert.equal(parseCidr('10.231.0.77/24')?.base, 0x0ae70000)
  assert.equal(parseCidr('0.0.0.0/0')?.prefix, 0)
  assert.equal(parseCidr('255.255.255.255/32')?.base, 0xffffffff)
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', '10.0.0.0/-1', 'fd00::/64', '', 'a.b.c.d/8']) {
    assert.equal(parseCidr(bad), null, bad)
  }
})

test('cidrsOverlap: equal, nested either way, /32 at the edges, adjacent blocks and /0', () => {
  const yes = [['10.0.0.0/24', '10.0.0.0/24'], ['10.0.0.0/8', '10.231.0.0/24'], ['10.231.0.0/24', '10.0.0.0/8'],
    ['10.231.0.0/24', '10.231.0.255/32'], ['10.231.0.0/24', '10.231.0.0/32'], ['0.0.0.0/0', '192.168.1.0/24'], ['10.1.2.3/32', '10.1.2.3/32']]
  const no = [['10.231.0.0/25', '10.231.0.128/25'], ['10.231.0.0/24', '10.231.1.0/24'], ['10.231.0.0/24', '10.230.255.255/32'],
    ['10.231.0.0/24', '10.231.1.0/32'], ['172.16.0.0/12', '172.32.0.0/16'], ['10.1.2.3/32', '10.1.2.4/32']]
  for (const [a, b] of yes) assert.ok(cidrsOverlap(cidr(a ?? ''), cidr(b ?? '')), `${a} ${b}`)
  for (const [a, b] of no) assert.ok(!cidrsOverlap(cidr(a ?? ''), cidr(b ?? '')), `${a} ${b}`)
})

test('checkSubnet passes a free subnet, skipping default and IPv6 routes', () => {
  checkSubnet('10.231.0.0/24',
    ['0.0.0.0/0', '192.0.2.0/24', { cidr: '172.17.0.0/16', name: 'host route dev docker0' }, 'fe80::/64'],
    [{ cidr: '172.17.0.0/16', name: 'docker network bridge' }, { cidr: '10.231.1.0/24', name: 'docker network next' }, { cidr: 'fd00:1::/64', name: 'docker network v6' }])
  checkSubnet('10.231.0.128/25', [], ['10.231.0.0/25'])
})

test('checkSubnet names the lab subnet and every clash, and suggests a free one', () => {
  try {
    checkSubnet('10.231.0.0/24', [{ cidr: '10.0.0.0/8', name: 'host route dev wg0' }, '192.0.2.0/24'], [{ cidr: '10.231.0.64/26', name: 'docker network pd-x' }])
    assert.fail('expected subnet-in-use')
  } catch (err) {
    assert.equal((err as Error).name, 'DockerPreflightError')
    const e = err as DockerPreflightError
    assert.equal(e.code, 'subnet-in-use')
    assert.match(e.message, /10\.231\.0\.0\/24/)
    assert.match(e.message, /host route dev wg0 10\.0\.0\.0\/8/)
    assert.match(e.message, /docker network pd-x 10\.231\.0\.64\/26/)
    assert.match(e.message, /--subnet/)
    assert.doesNotMatch(e.message, /192\.0\.2/)
    assert.doesNotMatch(e.message, /is free/, 'all of 10/8 is routed: nothing to suggest there')
  }
  assert.equal(preflightCode(() => { checkSubnet('10.231.0.0/16', ['10.231.5.0/24'], []) }), 'subnet-in-use')
  assert.equal(preflightCode(() => { checkSubnet('10.231.0.0/24', [], ['10.231.0.5/32']) }), 'subnet-in-use')
  try {
    checkSubnet('10.77.0.0/20', [], [{ cidr: '10.77.0.0/16', name: 'docker network a' }])
  } catch (err) {
    const free = /\((\S+) is free\)/.exec((err as Error).message)?.[1]
    assert.ok(free !== undefined, (err as Error).message)
    assert.ok(!cidrsOverlap(cidr(free), cidr('10.77.0.0/16')), free)
    assert.equal(cidr(free).prefix, 20)
  }
})

test('checkSubnet refuses a malformed lab subnet as a usage error', () => {
  for (const bad of ['10.231.0.0', '10.231.0.1/24', '10.0.0.0/4', '10.0.0.0/31', 'fd00::/64']) {
    assert.throws(() => { checkSubnet(bad, [], []) }, { name: 'UsageError' }, bad)
  }
})

test('suggestSubnet finds the first free block from 10.77.0.0 and gives up when 10/8 is taken', () => {
  assert.equal(suggestSubnet(24, []), '10.77.0.0/24')
  assert.equal(suggestSubnet(24, [cidr('10.77.0.0/24')]), '10.77.1.0/24')
  assert.equal(suggestSubnet(12, [cidr('10.0.0.0/12')]), '10.16.0.0/12')
  assert.equal(suggestSubnet(24, [cidr('10.0.0.0/8')]), null)
})

test('parseProcNetRoute reads /proc/net/route in either byte order and skips routes that are down', () => {
  const le = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'br-1\t00E70A0A\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'wg0\t0A0A0A0A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
    ''
  ].join('\n')
  assert.deepEqual(parseProcNetRoute(le, true), [
    { cidr: '0.0.0.0/0', iface: 'eth0' }, { cidr: '172.17.0.0/16', iface: 'docker0' },
    { cidr: '192.0.2.0/24', iface: 'eth0' }, { cidr: '10.10.10.10/32', iface: 'wg0' }
  ])
  const be = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n' +
    'eth0\tC0000200\t00000000\t0001\t0\t0\t0\tFFFFFF00\n' + 'odd\tC0000200\t00000000\t0001\t0\t0\t0\tFF00FF00\n'
  assert.deepEqual(parseProcNetRoute(be, false), [{ cidr: '192.0.2.0/24', iface: 'eth0' }])
})

test('parseComposeVersion reads `version --short` output of v2 and v1, and nothing else', () => {
  assert.equal(parseComposeVersion('2.29.1\n'), '2.29.1')
  assert.equal(parseComposeVersion('v2.24.0-desktop.1\n'), '2.24.0-desktop.1')
  assert.equal(parseComposeVersion('1.29.2\n'), '1.29.2')
  assert.equal(parseComposeVersion('  2.3  \n'), '2.3')
  for (const bad of ['', 'docker-compose version 1.29.2, build 5becea4c', 'unknown flag: --short', 'Docker version 28.2.2, build e6534b4', 'two']) {
    assert.equal(parseComposeVersion(bad), null, bad)
  }
})

test('composeChoice: PATCHDAY_COMPOSE is v1, v2 or unset', () => {
  assert.equal(composeChoice({}), undefined)
  assert.equal(composeChoice({ PATCHDAY_COMPOSE: '' }), undefined)
  assert.equal(composeChoice({ PATCHDAY_COMPOSE: 'v1' }), 'v1')
  assert.equal(composeChoice({ PATCHDAY_COMPOSE: 'v2' }), 'v2')
  assert.throws(() => composeChoice({ PATCHDAY_COMPOSE: 'V2' }), { name: 'UsageError' })
})

/** A PATH holding fake `docker` / `docker-compose` scripts. */
async function withFakeBin (scripts: { docker?: string, 'docker-compose'?: string }, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'patchday-fakebin-'))
  try {
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`)
      chmodSync(join(dir, name), 0o755)
    }
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const V2 = 'if [ "$1 $2 $3" = "compose version --short" ]; then echo 2.29.1; exit 0; fi; echo "unknown command" >&2; exit 125'
const NO_PLUGIN = 'echo "docker: unknown command: docker compose" >&2; exit 125'
const V1 = 'if [ "$1 $2" = "version --short" ]; then echo 1.29.2; exit 0; fi; exit 1'

test('detectCompose prefers v2, falls back to v1, obeys PATCHDAY_COMPOSE and says what it tried', async () => {
  await withFakeBin({ docker: V2, 'docker-compose': V1 }, async (dir) => {
    assert.deepEqual(await detectCompose({ env: { PATH: dir } }), { kind: 'v2', version: '2.29.1' })
    assert.deepEqual(await detectCompose({ env: { PATH: dir, PATCHDAY_COMPOSE: 'v1' } }), { kind: 'v1', version: '1.29.2' })
  })
  await withFakeBin({ docker: NO_PLUGIN, 'docker-compose': V1 }, async (dir) => {
    assert.deepEqual(await detectCompose({ env: { PATH: dir } }), { kind: 'v1', version: '1.29.2' })
    const e = await rejectsWith(detectCompose({ env: { PATH: dir, PATCHDAY_COMPOSE: 'v2' } }), 'compose-missing')
    assert.match(e.message, /PATCHDAY_COMPOSE/)
    assert.match(e.message, /unknown command/)
  })
  await withFakeBin({ 'docker-compose': V1 }, async (dir) => {
    assert.deepEqual(await detectCompose({ env: { PATH: dir } }), { kind: 'v1', version: '1.29.2' })
  })
  await withFakeBin({ docker: 'exec /bin/sleep 5', 'docker-compose': 'echo garbage' }, async (dir) => {
    const e = await rejectsWith(detectCompose({ env: { PATH: dir }, timeoutMs: 300 }), 'compose-missing')
    assert.match(e.message, /within 300 ms/)
    assert.match(e.message, /garbage/)
    assert.match(e.message, /apt-get install docker-compose/)
  })
  await withFakeBin({}, async (dir) => {
    const e = await rejectsWith(detectCompose({ env: { PATH: dir } }), 'compose-missing')
    assert.match(e.message, /not found/)
  })
})

test('checkDockerCli finds docker on the given PATH or fails with docker-missing', async () => {
  await withFakeBin({ docker: 'exit 0' }, (dir) => {
    assert.equal(checkDockerCli({ PATH: `/nonexistent:${dir}` }), join(dir, 'docker'))
  })
  assert.equal(preflightCode(() => checkDockerCli({ PATH: '/nonexistent' })), 'docker-missing')
  assert.equal(preflightCode(() => checkDockerCli({})), 'docker-missing')
})

test('checkPeerCount: up to one bridge network\'s worth of containers', () => {
  checkPeerCount(0)
  checkPeerCount(BRIDGE_CONTAINERS_MAX)
  assert.equal(BRIDGE_CONTAINERS_MAX, 1000)
  try {
    checkPeerCount(1001)
    assert.fail('expected too-many-peers')
  } catch (err) {
    assert.equal((err as DockerPreflightError).code, 'too-many-peers')
    assert.match((err as Error).message, /1001/)
    assert.match((err as Error).message, /moby\/moby#44973/)
  }
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => { checkPeerCount(bad) }, { name: 'UsageError' })
})

test('engine errors map to daemon-down and socket-permission; others pass through', () => {
  const err = (code: string, address?: string): Error => Object.assign(new Error(code), { code, address })
  assert.equal(engineError(err('ENOENT', '/run/x.sock'), 'unix:///run/x.sock')?.code, 'daemon-down')
  assert.match(engineError(err('ENOENT', '/run/x.sock'), 'e')?.message ?? '', /\/run\/x\.sock.*does not exist.*dockerd/)
  assert.equal(engineError(err('ECONNREFUSED'), 'tcp://127.0.0.1:2375')?.code, 'daemon-down')
  const perm = engineError(err('EACCES', '/var/run/docker.sock'), 'e')
  assert.equal(perm?.code, 'socket-permission')
  assert.match(perm?.message ?? '', /docker group.*root/)
  assert.equal(engineError(err('EBADF'), 'e'), null)
  assert.equal(engineError(new Error('x'), 'e'), null)
})

test('checkDocker and checkImage map a fake engine\'s failures to their codes', async () => {
  const refused = { ping: async () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) } } as unknown as Docker
  await rejectsWith(checkDocker(refused, { endpoint: 'tcp://127.0.0.1:1' }), 'daemon-down')
  const hung = { ping: async () => await new Promise(() => {}) } as unknown as Docker
  const e = await rejectsWith(checkDocker(hung, { endpoint: 'tcp://127.0.0.1:1', timeoutMs: 50 }), 'daemon-down')
  assert.match(e.message, /within 50 ms/)
  const other = { ping: async () => { throw new Error('boom') } } as unknown as Docker
  await assert.rejects(checkDocker(other), { message: 'boom' })
  const noImage = { getImage: () => ({ inspect: async () => { throw Object.assign(new Error('(HTTP code 404) no such image'), { statusCode: 404 }) } }) } as unknown as Docker
  const missing = await rejectsWith(checkImage(noImage, IMAGE_DEFAULT), 'image-missing')
  assert.match(missing.message, /npm run docker:build/)
  assert.match(missing.message, /npm run docker:base/)
  const present = { getImage: () => ({ inspect: async () => ({ Id: 'sha256:abc' }) }) } as unknown as Docker
  assert.equal(await checkImage(present, IMAGE_DEFAULT), 'sha256:abc')
})

test('checkNoLeftovers: a fresh run id passes; a network or container of the same run id left in the engine is named, with how to remove it', async () => {
  const engine = (containers: number, networks: string[]): Docker => ({
    listContainers: async (o: { all: boolean, filters: { label: string[] } }) => {
      assert.deepEqual(o, { all: true, filters: { label: ['patchday.run=r1'] } }, 'stopped containers count too')
      return Array.from({ length: containers }, (_, i) => ({ Id: `c${i}` }))
    },
    listNetworks: async (o: { filters: { label: string[] } }) => {
      assert.deepEqual(o.filters.label, ['patchday.run=r1'])
      return networks.map(Name => ({ Name }))
    }
  }) as unknown as Docker
  await checkNoLeftovers(engine(0, []), 'r1', 'patchday.run=r1')
  const net = await rejectsWith(checkNoLeftovers(engine(0, ['patchday-r1_lab']), 'r1', 'patchday.run=r1'), 'run-leftovers')
  assert.match(net.message, /network patchday-r1_lab labelled patchday\.run=r1/)
  assert.match(net.message, /patchday down --run r1/)
  assert.match(net.message, /docker network rm \$\(docker network ls -q --filter label=patchday\.run=r1\)/)
  assert.match(net.message, /another --run-id/)
  const both = await rejectsWith(checkNoLeftovers(engine(3, ['a', 'b']), 'r1', 'patchday.run=r1'), 'run-leftovers')
  assert.match(both.message, /3 containers and networks a, b/)
})
