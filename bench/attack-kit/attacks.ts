/**
 * The hostile peer of bench/attacks.mjs: issue 8's attacks, each run against a
 * real network (`patchday up`) until its signal aborts, from loopback
 * addresses 127.9.<attack>.x only (attack 13 listens there too: its hostile
 * supernodes are dialled by the real peers). The attack code is the integration tests'
 * (test/helpers/hostile-*.ts) run in a loop; each attack counts what it did and
 * how the target answered, and never throws for a refusal (refusals are the
 * point).
 */
import { connect, type Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { createNode } from '../../node/libp2p.ts'
import { signRecord } from '../../node/sn-record.ts'
import { LoginResponse, PROTOCOL_HEARTBEAT, PROTOCOL_LOGIN, PROTOCOL_SN, PROTOCOL_SNX, SnRequest, SnResponse, SnxMessage, type SnInfo } from '../../node/protocol/messages.ts'
import { dial, dialMany, trickle } from '../../test/helpers/hostile-transport.ts'
import { BAD_FRAME, rpc, silentLog } from '../../test/helpers/hostile-app.ts'
import { serve } from '../../node/rpc.ts'
import { Stats } from '../../node/stats.ts'
import { framed, readMessage, writeMessage } from '../../node/protocol/codec.ts'

/** What an attack needs to know about the network under attack. */
export interface AttackTarget {
  loginAddr: string
  /** The supernode under attack (a bootstrap supernode). */
  snAddr: string
  /** Every bootstrap supernode of the run (attack 13 gossips itself to each). */
  snAddrs: string[]
  /** The run's time scale (real s per emulated s): signed records carry emulated times. */
  timeScale: number
  /** An account of the run that no running peer uses (a reserve supernode's): the attacker's own login. */
  attacker: { account: string, password: string }
  /** Accounts of real peers: targets of wrong passwords. */
  victims: string[]
}

export type Counts = Record<string, number>

export interface Attack {
  id: number
  name: string
  /** Whose CPU and memory the bench watches: a supernode, the login server, or the real clients together. */
  target: 'sn' | 'login' | 'clients'
  run: (t: AttackTarget, signal: AbortSignal) => Promise<Counts>
  /**
   * What the attack needs of the network beyond the bench's own settings (`--set key=value` for
   * `patchday up`), and a restart of the real clients this long (real ms) after the window opens,
   * so that they attach again and meet the attacker. The bench gives such an attack a control run
   * of its own with the same network and restarts, and no attacker.
   */
  network?: { settings: string[], restartClientsAfterMs: number }
}

const ip = (attack: number, host: number): string => `127.9.${attack}.${1 + (host % 250)}`
const pause = async (ms: number, signal: AbortSignal): Promise<void> => { await delay(ms, undefined, { signal }).catch(() => undefined) }
/** Resolves when the signal aborts (at once if it has). */
const untilAborted = async (signal: AbortSignal): Promise<void> => {
  if (!signal.aborted) await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
}
const bump = (c: Counts, k: string, n = 1): void => { c[k] = (c[k] ?? 0) + n }

/** A libp2p node with a new identity; the attacker's own nodes run libp2p's defaults (no guard). */
async function freshNode (attack: number, host: number): Promise<Libp2p> {
  return await createNode({ privateKey: await generateKeyPair('Ed25519'), listenIp: ip(attack, host), port: 4001 })
}

/** Run `step` again and again until the signal aborts; a failed step is counted under its error's name. */
async function loop (signal: AbortSignal, c: Counts, step: () => Promise<void>): Promise<Counts> {
  while (!signal.aborted) {
    try {
      await step()
    } catch (err) {
      bump(c, `error:${(err as Error).name}`)
      await pause(20, signal) // a refused dial fails at once: no hot loop on our own side
    }
  }
  return c
}

async function closeAll (conns: Connection[]): Promise<void> {
  await Promise.allSettled(conns.map(async c => { await c.close() }))
}

/** 1: four streams at a time that send an endless length prefix (0xff), on each of the supernode's protocols in turn. */
async function endlessVarint (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(1, 1)
  const c: Counts = {}
  const endless = new Uint8Array(1024).fill(0xff)
  const protocols = [PROTOCOL_SN, PROTOCOL_HEARTBEAT, PROTOCOL_SNX]
  let round = 0
  try {
    return await loop(signal, c, async () => {
      const conn = await dial(node, t.snAddr, true)
      const protocol = protocols[round++ % protocols.length] as string
      const ms = await Promise.all(Array.from({ length: 4 }, async () => await trickle(conn, protocol, endless, 10, 3000).catch(() => -1)))
      for (const m of ms) bump(c, m === null ? 'never-refused' : m < 0 ? 'stream-refused' : 'refused')
      await conn.close()
    })
  } finally { await node.stop() }
}

/** 2: 8 connections x 12 streams: a request, then 512 KiB nobody reads, and the stream never closed. */
async function unreadStreams (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(2, 1)
  const c: Counts = {}
  const junk = new Uint8Array(16 * 1024).fill(0x20)
  const halfOpen = async (conn: Connection): Promise<void> => {
    const stream: Stream = await conn.newStream(PROTOCOL_SN, { signal: AbortSignal.timeout(5000) })
    const lp = framed(stream)
    await writeMessage(lp, { t: 'heartbeat' })
    await readMessage(lp, SnResponse, { signal: AbortSignal.timeout(5000) })
    bump(c, 'answered')
    for (let sent = 0; sent < 512 * 1024 && stream.status === 'open' && !signal.aborted; sent += junk.byteLength) {
      if (!stream.send(junk)) await new Promise(resolve => { stream.addEventListener('drain', resolve, { once: true }); stream.addEventListener('close', resolve, { once: true }) })
      bump(c, 'junkKiB', 16)
    }
  }
  try {
    return await loop(signal, c, async () => {
      const { conns, failed } = await dialMany(node, t.snAddr, 8)
      bump(c, 'connsRefused', failed)
      const done = await Promise.allSettled(conns.flatMap(conn => Array.from({ length: 12 }, async () => { await halfOpen(conn) })))
      bump(c, 'streamsRefused', done.filter(d => d.status === 'rejected').length)
      await closeAll(conns)
    })
  } finally { await node.stop() }
}

/** A record for `key` claiming load 0 at an address of the attacker's where nothing answers, in the run's emulated time. */
function poisonRecord (key: Parameters<typeof signRecord>[0], name: string, at: string, t: AttackTarget): SnInfo {
  const now = Math.round(Date.now() / t.timeScale)
  return signRecord(key, { name, addr: `/ip4/${at}/tcp/4001/p2p/${peerIdFromPrivateKey(key).toString()}`, load: 0, issuedAt: now, exp: now + 60_000 })
}

/** 3: exchanges from ever new identities, each offering itself and 40 freshly signed records of load 0 pointing nowhere. */
async function listPoisoning (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const c: Counts = {}
  let host = 0
  return await loop(signal, c, async () => {
    const key = await generateKeyPair('Ed25519')
    const node = await createNode({ privateKey: key, listenIp: ip(3, host), port: 4001 })
    try {
      const known = await Promise.all(Array.from({ length: 40 }, async (_, i) => poisonRecord(await generateKeyPair('Ed25519'), `fake-${host}-${i}`, ip(3, 100 + i), t)))
      const res = await rpc(await dial(node, t.snAddr), PROTOCOL_SNX, { t: 'exchange', self: poisonRecord(key, `atk-${host}`, ip(3, host), t), known }, SnxMessage)
      bump(c, `answer:${res.t}`)
    } finally {
      host++
      await node.stop()
    }
  })
}

/** 4: 300 TCP sockets from one address that never start a handshake, each replaced as soon as the server closes it. */
async function silentSockets (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const c: Counts = {}
  const m = /\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(t.loginAddr)
  if (m === null) throw new Error(`not an /ip4/ address: ${t.loginAddr}`)
  const [host, port] = [m[1] as string, Number(m[2])]
  const open = new Set<Socket>()
  const one = (): void => {
    if (signal.aborted) return
    const s = connect({ host, port, localAddress: ip(4, 1) })
    open.add(s)
    bump(c, 'opened')
    s.on('error', () => { bump(c, 'reset') })
    s.once('close', () => {
      open.delete(s)
      bump(c, 'closedByServer')
      // Replaced after a beat: a socket refused at once must not turn into a hot loop.
      setTimeout(one, 50).unref()
    })
  }
  for (let i = 0; i < 300; i++) one()
  await untilAborted(signal)
  for (const s of open) s.destroy()
  c.closedByServer = (c.closedByServer ?? 0) - open.size
  return c
}

/** 5: one identity dials new connections one after another, as many as it is let hold. */
async function onePeerManyConns (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(5, 1)
  const c: Counts = {}
  const held: Connection[] = []
  try {
    return await loop(signal, c, async () => {
      held.push(await dial(node, t.snAddr, true))
      bump(c, 'dialled')
      for (let i = held.length - 1; i >= 0; i--) if (held[i]?.status !== 'open') held.splice(i, 1)
      c.heldNow = held.length
    })
  } finally {
    await closeAll(held)
    await node.stop()
  }
}

/** 6: rounds of 16 new identities, each asking for a slot (without a ticket, and with a forged one), then leaving. */
async function freshSquatters (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const c: Counts = {}
  let host = 0
  return await loop(signal, c, async () => {
    const squad = await Promise.all(Array.from({ length: 16 }, async () => await freshNode(6, host++)))
    try {
      await Promise.all(squad.map(async (node, i) => {
        const conn = await dial(node, t.snAddr)
        const forged = { account: `squatter-${host}-${i}`, peerId: node.peerId.toString(), exp: Date.now() + 3_600_000, sig: 'AAAA' }
        for (const msg of [{ t: 'attach', name: `squatter-${host}-${i}` }, { t: 'attach', name: forged.account, ticket: forged }]) {
          const r = await rpc(conn, PROTOCOL_SN, msg, SnResponse).catch((err: unknown) => ({ t: `error:${(err as Error).name}`, reason: '' }))
          bump(c, `answer:${r.t}${'reason' in r && typeof r.reason === 'string' && r.reason !== '' ? `:${r.reason}` : ''}`)
        }
      }))
    } finally {
      await Promise.allSettled(squad.map(async n => { await n.stop() }))
    }
  })
}

/** 7: six lanes of attach and heartbeat requests on one connection, from a peer without a slot. */
async function requestFlood (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(7, 1)
  const c: Counts = {}
  let conn: Connection | undefined
  try {
    await Promise.all(Array.from({ length: 6 }, async (_, lane) => await loop(signal, c, async () => {
      if (conn?.status !== 'open') conn = await dial(node, t.snAddr)
      const r = await rpc(conn, PROTOCOL_SN, lane % 2 === 0 ? { t: 'attach', name: 'atk' } : { t: 'heartbeat' }, SnResponse)
      bump(c, `answer:${r.t}${r.t === 'busy' ? `:${r.reason}` : ''}`)
    })))
    return c
  } finally { await node.stop() }
}

/** 8: four login streams at a time on one connection: two with the attacker's own account, two guessing real accounts' passwords. */
async function loginFlood (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(8, 1)
  const c: Counts = {}
  let conn: Connection | undefined
  let guess = 0
  try {
    await Promise.all(Array.from({ length: 4 }, async (_, lane) => await loop(signal, c, async () => {
      if (conn?.status !== 'open') conn = await dial(node, t.loginAddr)
      const msg = lane < 2
        ? { t: 'login', ...t.attacker }
        : { t: 'login', account: t.victims[guess % t.victims.length], password: `guess-${guess++}` }
      const r = await rpc(conn, PROTOCOL_LOGIN, msg, LoginResponse)
      bump(c, `${lane < 2 ? 'own' : 'guess'}:${r.t}`)
    })))
    return c
  } finally { await node.stop() }
}

/** 9: malformed frames, four streams at a time, each a line in the server's log unless the limiter holds it back. */
async function badFrames (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const node = await freshNode(9, 1)
  const c: Counts = {}
  let conn: Connection | undefined
  try {
    return await loop(signal, c, async () => {
      if (conn?.status !== 'open') conn = await dial(node, t.snAddr)
      const open = conn
      await Promise.all(Array.from({ length: 4 }, async () => {
        const s = await open.newStream(PROTOCOL_SN, { signal: AbortSignal.timeout(5000) })
        s.send(BAD_FRAME)
        await s.close({ signal: AbortSignal.timeout(5000) }).catch((err: unknown) => { s.abort(err as Error) })
        bump(c, 'badFrames')
      }))
    })
  } finally { await node.stop() }
}

/** 14: one new identity after another, each making one request and leaving: what the target keeps per remote identity. */
async function identityChurn (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const c: Counts = {}
  let host = 0
  return await loop(signal, c, async () => {
    const node = await freshNode(14, host++)
    try {
      const r = await rpc(await dial(node, t.snAddr), PROTOCOL_SN, { t: 'detach' }, SnResponse)
      bump(c, `answer:${r.t}`)
    } finally { await node.stop() }
  })
}

/** Attack 13's hostile supernodes: enough to fill a client's attach round (attachCandidatesMax, 8 by default). */
const HINT_SUPERNODES = 8
/** The hints of issue 8: 10^9 ms (an 11.6-day sleep) and 2^31 ms (past Node's timer range: a 1 ms hot loop). */
const HUGE_HINTS = [1e9, 2 ** 31]
/** How often the hostile supernodes renew their records at the real supernodes (real ms). */
const HINT_GOSSIP_EVERY_MS = 2000

/**
 * 13: hostile supernodes that real clients meet and that answer every attach busy with a retry hint
 * of 10^9 ms or 2^31 ms. Eight identities, each listening on its own address, offer their own signed
 * records (load 0: the most attractive supernode there is) to every real supernode in an exchange,
 * renewed every few seconds, and answer exchanges as supernodes do, so that the real supernodes keep
 * them and relay them to their clients in heartbeats and busy answers. A client that attaches again
 * (the bench restarts the clients) tries them first; every attach is answered busy with a huge hint
 * and no alternatives. The client must wait at most its hint cap (retryHintMaxMs) and then attach to
 * a real supernode, neither sleeping for days nor spinning.
 */
async function hugeHints (t: AttackTarget, signal: AbortSignal): Promise<Counts> {
  const c: Counts = {}
  const keys = await Promise.all(Array.from({ length: HINT_SUPERNODES }, async () => await generateKeyPair('Ed25519')))
  const nodes = await Promise.all(keys.map(async (key, i) => await createNode({ privateKey: key, listenIp: ip(13, i + 1), port: 4001 })))
  const record = (i: number): SnInfo => poisonRecord(keys[i] as Parameters<typeof signRecord>[0], `hint-sn-${i + 1}`, ip(13, i + 1), t)
  const clients = new Set<string>()
  try {
    await Promise.all(nodes.map(async (node, i) => {
      const hint = HUGE_HINTS[i % HUGE_HINTS.length] as number
      await node.handle(PROTOCOL_SN, serve(PROTOCOL_SN, SnRequest, new Stats(), silentLog, async (req, conn) => {
        if (req.t !== 'attach') return { t: 'unknown' }
        clients.add(conn.remotePeer.toString())
        bump(c, `busy:${hint === 1e9 ? '1e9' : '2^31'}`)
        return { t: 'busy', reason: 'full', retryAfterMs: hint, alternatives: [] }
      }))
      await node.handle(PROTOCOL_SNX, serve(PROTOCOL_SNX, SnxMessage, new Stats(), silentLog, async () => {
        bump(c, 'exchangesAnswered')
        return { t: 'exchange', self: record(i), known: [] }
      }))
    }))
    // Into the real supernodes' caches, and kept fresh there.
    while (!signal.aborted) {
      await Promise.all(nodes.map(async (node, i) => await Promise.all(t.snAddrs.map(async (addr) => {
        try {
          const res = await rpc(await dial(node, addr), PROTOCOL_SNX, { t: 'exchange', self: record(i), known: [] }, SnxMessage)
          bump(c, `offered:${res.t}`)
        } catch (err) {
          bump(c, `error:${(err as Error).name}`)
        }
      }))))
      await pause(HINT_GOSSIP_EVERY_MS, signal)
    }
    c.clientsTurnedAway = clients.size
    return c
  } finally {
    await Promise.allSettled(nodes.map(async n => { await n.stop() }))
  }
}

export const ATTACKS: readonly Attack[] = [
  { id: 1, name: 'endless varint prefix', target: 'sn', run: endlessVarint },
  { id: 2, name: 'unread buffers, half-open streams', target: 'sn', run: unreadStreams },
  { id: 3, name: 'supernode-list poisoning', target: 'sn', run: listPoisoning },
  { id: 4, name: 'handshake slowloris (silent sockets)', target: 'login', run: silentSockets },
  { id: 5, name: 'one peer id, many connections', target: 'sn', run: onePeerManyConns },
  { id: 6, name: 'fresh identities for slots', target: 'sn', run: freshSquatters },
  { id: 7, name: 'request flood without a slot', target: 'sn', run: requestFlood },
  { id: 8, name: 'parallel logins, wrong passwords', target: 'login', run: loginFlood },
  { id: 9, name: 'log flood from bad frames', target: 'sn', run: badFrames },
  // Hints are honoured only with retryHonorHint (off by default: then a hint changes nothing); a time
  // scale of 0.2 makes the default cap of 60 emulated seconds 12 real ones, so that clients recover
  // within a window, and their heartbeats (which bring them the hostile records) come every 2 s.
  { id: 13, name: 'huge retry hints from hostile supernodes', target: 'clients', run: hugeHints, network: { settings: ['retryHonorHint=true', 'timeScale=0.2'], restartClientsAfterMs: 6000 } },
  { id: 14, name: 'memory per remote identity', target: 'sn', run: identityChurn }
]
