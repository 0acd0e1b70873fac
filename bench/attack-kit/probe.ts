/**
 * The legitimate client of bench/attacks.mjs, in a process of its own so that
 * the attacker's work does not show up as its latency: every `intervalMs` it
 * logs in (a new connection to the login server) and attaches to the target
 * supernode with its ticket (a new connection), then detaches. Each login and
 * attach is timed with the peer's own deadlines (loginTimeoutMs,
 * attachTimeoutMs at their defaults). Prints `ready` once its node runs (the
 * bench starts the window then), and one JSON line at the end.
 *
 * Usage: node bench/attack-kit/probe.ts '<json: ProbeArgs>'
 */
import { setTimeout as delay } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { createNode } from '../../node/libp2p.ts'
import { request } from '../../node/rpc.ts'
import { Stats } from '../../node/stats.ts'
import { LoginResponse, PROTOCOL_LOGIN, PROTOCOL_SN, SnResponse } from '../../node/protocol/messages.ts'
import { defaultSetting } from '../../node/contract/config.ts'

interface ProbeArgs { loginAddr: string, snAddr: string, account: string, password: string, listenIp: string, seconds: number, intervalMs: number, timeScale: number }
/** One login or attach: `atMs` is when it began, from the start of the window (`ready`). */
interface Sample { ok: boolean, ms: number, outcome: string, atMs: number }

const a = JSON.parse(process.argv[2] ?? '') as ProbeArgs
const loginTimeoutMs = defaultSetting('loginTimeoutMs') * a.timeScale
const attachTimeoutMs = defaultSetting('attachTimeoutMs') * a.timeScale
const stats = new Stats()
const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listenIp: a.listenIp, port: 4001 })
const samples: { login: Sample[], attach: Sample[] } = { login: [], attach: [] }

/** Dial (a new connection) and one request within `timeoutMs`, timed from the dial. */
async function timed<T extends { t: string }> (addr: string, protocol: string, msg: unknown, schema: typeof LoginResponse | typeof SnResponse, timeoutMs: number, keep: (c: Connection) => void): Promise<{ res: T | null, sample: Sample }> {
  const t0 = performance.now()
  const atMs = Math.round(t0 - windowStart)
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const conn = await node.dial(multiaddr(addr), { signal, force: true })
    keep(conn)
    const res = await request(conn, protocol, msg, schema, stats, signal) as T
    const ok = res.t === 'ok' || res.t === 'attached'
    return { res, sample: { ok, ms: performance.now() - t0, outcome: res.t, atMs } }
  } catch (err) {
    return { res: null, sample: { ok: false, ms: performance.now() - t0, outcome: `error:${(err as Error).name}`, atMs } }
  }
}

process.stdout.write('ready\n')
const windowStart = performance.now()
const until = Date.now() + a.seconds * 1000
while (Date.now() < until) {
  const next = Date.now() + a.intervalMs
  const conns: Connection[] = []
  const keep = (c: Connection): void => { conns.push(c) }
  const login = await timed<LoginResponse>(a.loginAddr, PROTOCOL_LOGIN, { t: 'login', account: a.account, password: a.password }, LoginResponse, loginTimeoutMs, keep)
  samples.login.push(login.sample)
  if (login.res?.t === 'ok') {
    const attach = await timed<SnResponse>(a.snAddr, PROTOCOL_SN, { t: 'attach', name: a.account, ticket: login.res.ticket }, SnResponse, attachTimeoutMs, keep)
    samples.attach.push(attach.sample)
    const sn = conns.at(-1)
    if (attach.sample.ok && sn !== undefined) await request(sn, PROTOCOL_SN, { t: 'detach' }, SnResponse, stats, AbortSignal.timeout(attachTimeoutMs)).catch(() => undefined)
  }
  await Promise.allSettled(conns.map(async c => { await c.close() }))
  await delay(Math.max(0, next - Date.now()))
}
await node.stop()
process.stdout.write(JSON.stringify(samples) + '\n')
