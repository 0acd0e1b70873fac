/**
 * The Docker preflight against the real engine: each broken setup gives its named
 * error. Skipped (with the reason) when no Docker daemon answers, so that machines
 * without Docker still run the rest of the suite.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Docker from 'dockerode'
import {
  checkDocker, checkImage, checkSubnetFree, detectCompose, cidrsOverlap, findOnPath, listDockerSubnets, parseCidr, readHostRoutes
} from '../../orchestrator/runtime/docker/preflight.ts'
import { ROOT } from '../helpers/cli.ts'

const docker = new Docker()
const daemonDown = await checkDocker(docker, { timeoutMs: 5_000 }).then(() => null, (err: unknown) => (err as Error).message)
const skip = daemonDown === null ? false : `no Docker daemon reachable: ${daemonDown}`
const RUN_LABEL = `docker-errors-test-${process.pid}`

const tmp = mkdtempSync(join(tmpdir(), 'patchday-docker-errors-'))
after(() => { rmSync(tmp, { recursive: true, force: true }) })

interface ChildOutcome { ok: boolean, name?: string, code?: string, message?: string, compose?: unknown }

/** dockerPreflight in a fresh process with `env` as its whole environment (PATH, DOCKER_HOST as a user sets them). */
function preflightInChild (env: NodeJS.ProcessEnv, opts: { uid?: number, gid?: number } = {}): ChildOutcome {
  const preflight = pathToFileURL(join(ROOT, 'orchestrator', 'runtime', 'docker', 'preflight.ts')).href
  const script = `
    import Docker from 'dockerode'
    import { dockerPreflight } from ${JSON.stringify(preflight)}
    try {
      const compose = await dockerPreflight({ docker: new Docker(), image: 'patchday-absent:0', subnet: '10.231.0.0/24', containers: 3 })
      console.log(JSON.stringify({ ok: true, compose }))
    } catch (err) {
      console.log(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }))
    }`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { HOME: tmp, ...env }, encoding: 'utf8', timeout: 60_000, ...opts })
  assert.equal(r.status, 0, `child exit ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as ChildOutcome
}

/** A directory holding symlinks to just these programs, to build a PATH that lacks the others. */
function binDir (name: string, programs: string[]): string {
  const dir = join(tmp, name)
  mkdirSync(dir)
  for (const p of programs) {
    const found = findOnPath(p, process.env.PATH ?? '')
    assert.ok(found !== null, `${p} on PATH`)
    symlinkSync(found, join(dir, p))
  }
  return dir
}

test('an absent image is image-missing, naming the build commands', { skip }, async () => {
  const tag = `patchday-absent-${process.pid}:0.0.0`
  await assert.rejects(checkImage(docker, tag), (err: Error & { code?: string }) => {
    assert.equal(err.name, 'DockerPreflightError')
    assert.equal(err.code, 'image-missing')
    assert.ok(err.message.includes(tag), err.message)
    assert.match(err.message, /npm run docker:build/)
    assert.match(err.message, /npm run docker:base/)
    return true
  })
})

test('DOCKER_HOST at a unix socket that does not exist is daemon-down, naming the socket', { skip }, () => {
  const sock = join(tmp, 'no-such-dir', 'docker.sock')
  const r = preflightInChild({ PATH: process.env.PATH ?? '', DOCKER_HOST: `unix://${sock}` })
  assert.equal(r.name, 'DockerPreflightError', JSON.stringify(r))
  assert.equal(r.code, 'daemon-down', r.message)
  assert.ok(r.message?.includes(sock), r.message)
  assert.match(r.message ?? '', /dockerd/)
})

test('a user outside the docker group gets socket-permission', {
  skip: skip !== false ? skip
    : process.getuid?.() !== 0 ? 'needs root to run a child as nobody'
      : socketOpenToNobody() ? '/var/run/docker.sock is open to nobody'
        : !nobodyCanRunTheCheck() ? `nobody (uid 65534) cannot read ${ROOT} or run ${process.execPath}`
          : false
}, () => {
  const r = preflightInChild({ PATH: process.env.PATH ?? '', DOCKER_HOST: 'unix:///var/run/docker.sock' }, { uid: 65534, gid: 65534 })
  assert.equal(r.code, 'socket-permission', JSON.stringify(r))
  assert.match(r.message ?? '', /docker group/)
})

/** The checkout may sit where other users cannot read it (under /root): then there is nothing to run as nobody. */
function nobodyCanRunTheCheck (): boolean {
  const preflight = join(ROOT, 'orchestrator', 'runtime', 'docker', 'preflight.ts')
  const r = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(preflight)}, require('fs').constants.R_OK)`],
    { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' }, uid: 65534, gid: 65534, timeout: 20_000 })
  return r.error === undefined && r.status === 0
}

function socketOpenToNobody (): boolean {
  try {
    const st = statSync('/var/run/docker.sock')
    return (st.mode & 0o006) === 0o006 || st.gid === 65534
  } catch {
    return true // no socket there: nothing to test
  }
}

test('a PATH without docker is docker-missing; with docker but without docker-compose, forced v1 is compose-missing', { skip }, async () => {
  const none = binDir('none', [])
  const missing = preflightInChild({ PATH: none })
  assert.equal(missing.code, 'docker-missing', JSON.stringify(missing))
  assert.ok(missing.message?.includes(none), missing.message)
  await assert.rejects(detectCompose({ env: { PATH: none } }), { name: 'DockerPreflightError', code: 'compose-missing' })

  // The docker CLI and the engine answer, so the compose check is the first to fail.
  const onlyDocker = binDir('only-docker', ['docker'])
  const noCompose = preflightInChild({ PATH: onlyDocker, PATCHDAY_COMPOSE: 'v1' })
  assert.equal(noCompose.code, 'compose-missing', JSON.stringify(noCompose))
  assert.match(noCompose.message ?? '', /docker-compose/)
})

test('a subnet that overlaps a real Docker network is subnet-in-use, naming the network; its own network is not a clash', { skip }, async (t) => {
  // A /26 of 10.231.0.0/24 that no host route and no Docker network touches (the host's routes first).
  const routes = (await readHostRoutes()).filter(r => !r.cidr.endsWith('/0'))
  const taken = [...routes.map(r => r.cidr), ...(await listDockerSubnets(docker)).map(n => n.cidr)].flatMap(c => parseCidr(c) ?? [])
  const free = ['10.231.0.0/26', '10.231.0.64/26', '10.231.0.128/26', '10.231.0.192/26']
    .find(c => !taken.some(t => cidrsOverlap(t, parseCidr(c) ?? assert.fail(c))))
  if (free === undefined) {
    t.skip('every /26 of 10.231.0.0/24 is in use on this host')
    return
  }
  const name = `patchday-preflight-${process.pid}`
  const net = await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, IPAM: { Config: [{ Subnet: free }] }, Labels: { 'patchday.run': RUN_LABEL } })
  try {
    await assert.rejects(checkSubnetFree(docker, '10.231.0.0/24'), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'DockerPreflightError')
      assert.equal(err.code, 'subnet-in-use')
      assert.ok(err.message.includes('10.231.0.0/24'), err.message)
      assert.ok(err.message.includes(`docker network ${name} ${free}`), err.message)
      return true
    })
    await checkSubnetFree(docker, free, { ownNetwork: name })
  } finally {
    await net.remove()
  }
})
