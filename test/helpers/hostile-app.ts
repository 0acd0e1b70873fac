/**
 * Tools for the hostile-application tests (test/integration/hostile-app.test.ts):
 * fresh attacker identities, forged and poisoned supernode records, raw requests.
 * Everything binds loopback addresses of the test's own subnet only.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type * as z from 'zod/mini'
import { createNode } from '../../node/libp2p.ts'
import { request } from '../../node/rpc.ts'
import { Stats } from '../../node/stats.ts'
import { signRecord } from '../../node/sn-record.ts'
import type { SnInfo } from '../../node/protocol/messages.ts'
import type { EventLog } from '../../node/log.ts'
import { TIME_SCALE } from './inproc.ts'

export const RPC_TIMEOUT_MS = 10_000

/** A length-prefixed frame (10 bytes) that is not JSON: what no patchday peer sends. */
export const BAD_FRAME = Uint8Array.from([10, ...new TextEncoder().encode('not json!!')])
const stats = new Stats()

/** Emulated now, as the peers of an InprocNet see it. */
export const emulatedNow = (): number => Math.round(Date.now() / TIME_SCALE)

/** Libp2p nodes with fresh identities (an attacker's Sybils), each on its own address; stop them with `stopAll`. */
export class Sybils {
  readonly nodes: Libp2p[] = []
  private readonly subnet: number
  private next: number

  constructor (subnet: number, firstHost = 100) { this.subnet = subnet; this.next = firstHost }

  async spawn (n: number): Promise<Libp2p[]> {
    const made = await Promise.all(Array.from({ length: n }, async () => {
      const key = await generateKeyPair('Ed25519')
      return await createNode({ privateKey: key, listenIp: `127.3.${this.subnet}.${this.next++}`, port: 4001 })
    }))
    this.nodes.push(...made)
    return made
  }

  async stopAll (): Promise<void> {
    await Promise.allSettled(this.nodes.splice(0).map(async n => { await n.stop() }))
  }
}

export async function dial (node: Libp2p, addr: string): Promise<Connection> {
  return await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(RPC_TIMEOUT_MS) })
}

export async function rpc<S extends z.ZodMiniType> (conn: Connection, protocol: string, msg: unknown, schema: S): Promise<z.infer<S>> {
  return await request(conn, protocol, msg, schema, stats, AbortSignal.timeout(RPC_TIMEOUT_MS))
}

/** A record signed by `key` for an address carrying `key`'s own peer id. */
export function recordFor (key: PrivateKey, name: string, ip: string, load: number, ttlMs: number): SnInfo {
  const now = emulatedNow()
  return signRecord(key, { name, addr: `/ip4/${ip}/tcp/4001/p2p/${peerIdFromPrivateKey(key).toString()}`, load, issuedAt: now, exp: now + ttlMs })
}

/** `n` valid records, each signed by its own fresh key, claiming load 0 at addresses where nothing listens. */
export async function poisonRecords (n: number, subnet: number, ttlMs: number): Promise<SnInfo[]> {
  return await Promise.all(Array.from({ length: n }, async (_, i) => recordFor(await generateKeyPair('Ed25519'), `fake-${i}`, `127.3.${subnet}.${200 + (i % 50)}`, 0, ttlMs)))
}

/** A log that drops everything (for a fake server's own rpc plumbing). */
export const silentLog: EventLog = { event: () => {}, debug: () => {}, warn: () => {}, flush: () => {} }

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
