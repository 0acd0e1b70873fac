/**
 * DockerLogCollector against the real Docker engine: containers of a plain
 * Node image (no network) print numbered JSON lines while they
 * are stopped, killed and started again, and while the collector itself is
 * aborted or SIGKILLed. The oracle is Docker's own log of each container: the
 * collected files must hold exactly its bytes, stdout in `.log`, stderr in
 * `.err`, each incarnation's numbers once and in order.
 *
 * PATCHDAY_DOCKER_LOGS_BENCH=1 adds the cost measurement (50 containers, 5
 * lines/s each, 30 s): the collector's share of one core, printed as a
 * diagnostic.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import Docker from 'dockerode'
import { FrameDemuxer } from '../../orchestrator/runtime/docker/demux.ts'
import { DockerLogCollector } from '../../orchestrator/runtime/docker/logs.ts'
import { ROOT, eventually } from '../helpers/cli.ts'
import { BASE_IMAGE_DEFAULT, OFFLINE_BASE_IMAGE } from '../../orchestrator/runtime/docker/image.ts'

/**
 * A plain Node image, the first of these on this machine: the offline base that
 * `.ci/run` builds (`npm run docker:base`), or the registry's that it stands for.
 */
const IMAGES = [OFFLINE_BASE_IMAGE, BASE_IMAGE_DEFAULT]
let IMAGE = ''
const docker = new Docker()
let skip: string | false = false

before(async () => {
  try {
    await Promise.race([docker.ping(), sleep(3000).then(() => { throw new Error('no answer in 3 s') })])
  } catch (err) {
    skip = `no Docker daemon reachable (${String(err)})`
    return
  }
  for (const image of IMAGES) {
    const found = await docker.getImage(image).inspect().then(() => true, () => false)
    if (found) { IMAGE = image; return }
  }
  skip = `none of the images ${IMAGES.join(', ')} is on this machine (npm run docker:base builds the first)`
})

/** Prints {b: boot id, n} lines every `everyMs` up to `count`, one of 40 KB; every 10th number also on stderr; exits on SIGTERM. */
function program (count: number, everyMs: number): string {
  return `process.on('SIGTERM',()=>process.exit(0));const b=Date.now()+'-'+process.hrtime.bigint();let n=0;` +
    `const t=setInterval(()=>{const o={b,n};if(n===5)o.pad='x'.repeat(40000);console.log(JSON.stringify(o));` +
    `if(n%10===0)console.error(JSON.stringify({b,e:n}));if(++n>=${count})clearInterval(t)},${everyMs})`
}

function labelFor (t: { name: string }): string {
  return `dlt-${process.pid}-${Date.now()}-${t.name.replace(/[^a-z0-9]+/gi, '').slice(0, 20)}`
}

async function removeAll (label: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`patchday.run=${label}`] } })
  await Promise.all(list.map(async c => { await docker.getContainer(c.Id).remove({ force: true }) }))
}

async function create (label: string, name: string, cmd: string): Promise<Docker.Container> {
  return await docker.createContainer({
    Image: IMAGE,
    name: `${label}-${name}`,
    Cmd: ['node', '-e', cmd],
    Labels: { 'patchday.run': label, 'patchday.name': name },
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'json-file', Config: {} } }
  })
}

/** Docker's own stdout and stderr bytes of a container, all incarnations. */
async function dockerLog (c: Docker.Container): Promise<{ out: string, err: string }> {
  const buf = await c.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer
  const out: Buffer[] = []
  const err: Buffer[] = []
  for (const f of new FrameDemuxer().push(buf)) (f.type === 1 ? out : err).push(f.payload)
  return { out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }
}

function collectorFor (label: string, logsDir: string): DockerLogCollector {
  return new DockerLogCollector({
    docker,
    logsDir,
    filters: { label: [`patchday.run=${label}`] },
    nameOf: c => c.labels['patchday.name'] ?? null
  })
}

function read (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw err
  }
}

/** The file equals Docker's log; every incarnation counts 0, 1, 2, ... once; returns the incarnations seen. */
async function assertComplete (c: Docker.Container, logsDir: string, name: string): Promise<number> {
  const want = await dockerLog(c)
  assert.equal(read(join(logsDir, `${name}.log`)), want.out, `${name}.log equals Docker's stdout`)
  assert.equal(read(join(logsDir, `${name}.err`)), want.err, `${name}.err equals Docker's stderr`)
  const boots = new Map<string, number[]>()
  for (const line of want.out.split('\n').filter(l => l !== '')) {
    const o = JSON.parse(line) as { b: string, n: number }
    boots.set(o.b, [...(boots.get(o.b) ?? []), o.n])
  }
  for (const [b, ns] of boots) assert.deepEqual(ns, ns.map((_, i) => i), `boot ${b} counts once, in order`)
  return boots.size
}

/** Waits until Docker's log shows `boots` incarnations, the last one past its 40 KB line (the machine may be slow to start node). */
async function untilBooted (c: Docker.Container, boots: number): Promise<void> {
  await eventually(`incarnation ${boots} logging`, 20_000, async () => {
    const seen = new Map<string, number>()
    for (const line of (await dockerLog(c)).out.split('\n').filter(l => l !== '')) {
      const b = (JSON.parse(line) as { b: string }).b
      seen.set(b, (seen.get(b) ?? 0) + 1)
    }
    return seen.size === boots && [...seen.values()].at(-1)! >= 8 ? true : undefined
  }, 50)
}

async function untilComplete (c: Docker.Container, logsDir: string, name: string): Promise<void> {
  await eventually(`${name} collected completely`, 20_000, async () => {
    const want = await dockerLog(c)
    return read(join(logsDir, `${name}.log`)) === want.out && read(join(logsDir, `${name}.err`)) === want.err ? true : undefined
  }, 200)
}

test('follow: restarts by stop/start and kill/start lose and repeat nothing; a new container is picked up by its start event', { timeout: 60_000 }, async (t) => {
  if (skip !== false) { t.skip(skip); return }
  const label = labelFor(t)
  const logsDir = mkdtempSync(join(tmpdir(), 'patchday-dl-follow-'))
  t.after(async () => { await removeAll(label); rmSync(logsDir, { recursive: true, force: true }) })
  const c = await create(label, 'p-1', program(150, 20))
  await c.start()
  const ac = new AbortController()
  const warnings: string[] = []
  const collector = new DockerLogCollector({ docker, logsDir, filters: { label: [`patchday.run=${label}`] }, nameOf: x => x.labels['patchday.name'] ?? null, onWarning: w => { warnings.push(w) } })
  const following = collector.follow(ac.signal)
  let starts = 1
  for (const how of ['stop', 'kill', 'stop', 'kill', 'restart'] as const) {
    await untilBooted(c, starts)
    await sleep(200)
    if (how === 'restart') await c.restart({ t: 1 })
    else {
      if (how === 'stop') await c.stop({ t: 1 })
      else await c.kill()
      await sleep(150)
      await c.start()
    }
    starts++
  }
  const late = await create(label, 'p-2', program(60, 10)) // a scale-up: only its start event announces it
  await late.start()
  await c.wait()
  await late.wait()
  await untilComplete(c, logsDir, 'p-1')
  await untilComplete(late, logsDir, 'p-2')
  ac.abort()
  await following
  assert.equal(await assertComplete(c, logsDir, 'p-1'), starts)
  assert.equal(await assertComplete(late, logsDir, 'p-2'), 1)
  assert.match(read(join(logsDir, 'p-1.err')), /"e":140/)
  assert.deepEqual(warnings, [])
  t.diagnostic(`collector: ${JSON.stringify(collector.stats())}`)
})

test('a collector aborted mid-run, then one SIGKILLed mid-run: the next one catches up with no gap and no duplicate', { timeout: 60_000 }, async (t) => {
  if (skip !== false) { t.skip(skip); return }
  const label = labelFor(t)
  const logsDir = mkdtempSync(join(tmpdir(), 'patchday-dl-crash-'))
  t.after(async () => { await removeAll(label); rmSync(logsDir, { recursive: true, force: true }) })
  const c = await create(label, 'p-1', program(400, 10))
  await c.start()

  // 1. In process: follow, abort while the container logs.
  const ac = new AbortController()
  const first = collectorFor(label, logsDir).follow(ac.signal)
  await eventually('first lines', 10_000, async () => read(join(logsDir, 'p-1.log')).length > 1000 ? true : undefined, 50)
  ac.abort()
  await first

  // 2. A collector in another process, SIGKILLed while it writes.
  const url = (p: string): string => pathToFileURL(join(ROOT, p)).href
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import Docker from 'dockerode'
    import { DockerLogCollector } from '${url('orchestrator/runtime/docker/logs.ts')}'
    const c = new DockerLogCollector({ docker: new Docker(), logsDir: ${JSON.stringify(logsDir)}, filters: { label: ['patchday.run=${label}'] }, nameOf: x => x.labels['patchday.name'] ?? null, flushIntervalMs: 5 })
    await c.follow(new AbortController().signal)
  `], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<void>(resolve => { child.on('exit', () => { resolve() }) })
  const size0 = read(join(logsDir, 'p-1.log')).length
  await eventually('the child collector writes', 15_000, async () => read(join(logsDir, 'p-1.log')).length > size0 + 2000 ? true : undefined, 20)
  child.kill('SIGKILL')
  await exited

  // 3. The container is restarted while no collector runs; then a new one catches up and follows.
  await c.kill()
  await c.start()
  const ac3 = new AbortController()
  const third = collectorFor(label, logsDir).follow(ac3.signal)
  await c.wait()
  await untilComplete(c, logsDir, 'p-1')
  ac3.abort()
  await third
  assert.equal(await assertComplete(c, logsDir, 'p-1'), 2)

  // 4. sync() of a stopped container afterwards adds nothing.
  assert.deepEqual(await collectorFor(label, logsDir).sync(), { containers: 1, lines: 0 })
  assert.equal(await assertComplete(c, logsDir, 'p-1'), 2)
})

test('cost: 50 containers logging 5 lines/s for 30 s', { timeout: 120_000, skip: process.env.PATCHDAY_DOCKER_LOGS_BENCH !== '1' && 'set PATCHDAY_DOCKER_LOGS_BENCH=1 to measure' }, async (t) => {
  if (skip !== false) { t.skip(skip); return }
  const label = labelFor(t)
  const logsDir = mkdtempSync(join(tmpdir(), 'patchday-dl-bench-'))
  t.after(async () => { await removeAll(label); rmSync(logsDir, { recursive: true, force: true }) })
  const line = "const o={level:30,pid:1,hostname:'h',name:'peer',event:'heartbeat.sent',peer:'p-017',sn:'12D3KooWQ4xKp',rttMs:0,seq:0};" +
    "setInterval(()=>{o.time=Date.now();o.seq++;o.rttMs=o.seq%97;console.log(JSON.stringify(o))},200);process.on('SIGTERM',()=>process.exit(0))"
  const cs: Docker.Container[] = []
  for (let i = 0; i < 50; i += 10) {
    cs.push(...await Promise.all(Array.from({ length: 10 }, async (_, k) => await create(label, `p-${i + k}`, line))))
  }
  for (let i = 0; i < cs.length; i += 8) await Promise.all(cs.slice(i, i + 8).map(async c => { await c.start() }))
  const ac = new AbortController()
  const collector = collectorFor(label, logsDir)
  const following = collector.follow(ac.signal)
  await sleep(3000) // attach and catch up
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  const lines0 = collector.stats().lines
  await sleep(30_000)
  const cpu = process.cpuUsage(cpu0)
  const wallMs = performance.now() - wall0
  const lines = collector.stats().lines - lines0
  ac.abort()
  await following
  const pct = (cpu.user + cpu.system) / 1000 / wallMs * 100
  t.diagnostic(`collector process: ${pct.toFixed(2)}% of one core (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms over ${(wallMs / 1000).toFixed(1)} s), ${lines} lines, ${collector.stats().batches} batches`)
  assert.ok(lines >= 50 * 5 * 30 * 0.9, `about 7500 lines collected (${lines})`)
})
