/**
 * Provisioning at `up`: an account for every peer and the identities of the
 * login server and the bootstrap supernodes, whose addresses the others must
 * know before they boot. How secrets reach the processes is the runtime's
 * choice: files in each peer's state directory (local processes), or one lab
 * secret from which every process derives its identity and password
 * (containers, which have no access to the run folder).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { hashPassword, type AccountsFile } from '../../node/contract/accounts.ts'
import type { PeerConfig } from '../../node/contract/config.ts'
import { labPeerId } from '../../node/contract/lab-secret.ts'
import { endpointRequests, type NetworkPlan, type PeerPlan } from './plan.ts'
import { type RunDir, writeJsonAtomic } from '../run/dir.ts'
import { IDENTITY_FILE, CREDENTIALS_FILE } from '../../node/contract/state-files.ts'
import type { Endpoint, EndpointRequest, Runtime } from '../runtime/runtime.ts'

export interface Provisioned {
  loginAddr: string
  /** `name=multiaddr` for every bootstrap supernode. */
  bootstrapAddrs: string[]
  /** Containers derive identities and passwords from it (lab-only: whoever has it can be anyone). */
  labSecret?: string
}

async function writeIdentity (dir: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, IDENTITY_FILE), privateKeyToProtobuf(key), { mode: 0o600 })
  return peerIdFromPrivateKey(key).toString()
}

/** `/ip4/` for an address, `/dns4/` for a name. */
export function dialAddr (e: Endpoint, peerId: string): string {
  if (e.dialHost === null) throw new Error('a well-known process needs a dial address')
  const proto = /^\d{1,3}(\.\d{1,3}){3}$/.test(e.dialHost) ? 'ip4' : 'dns4'
  return `/${proto}/${e.dialHost}/tcp/${e.port}/p2p/${peerId}`
}

async function provisionFiles (run: RunDir, plan: NetworkPlan): Promise<(name: string) => Promise<string>> {
  const accounts: AccountsFile = { version: 1, accounts: {} }
  for (const p of [...plan.peers, ...plan.reserve]) {
    // Secrets come from the OS, not the run's seed: they change no behaviour.
    const password = randomBytes(12).toString('base64url')
    accounts.accounts[p.name] = hashPassword(password)
    const dir = run.stateDir(p.name)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, CREDENTIALS_FILE), JSON.stringify({ account: p.name, password }), { mode: 0o600 })
  }
  await writeJsonAtomic(run.accountsFile, accounts)
  return async (name) => await writeIdentity(run.stateDir(name))
}

export async function provision (run: RunDir, plan: NetworkPlan, runtime: Pick<Runtime, 'secrets' | 'endpoint'>): Promise<Provisioned> {
  const labSecret = runtime.secrets === 'lab-secret' ? randomBytes(24).toString('base64url') : undefined
  const identity = labSecret !== undefined ? async (name: string) => await labPeerId(labSecret, name) : await provisionFiles(run, plan)
  const requests = endpointRequests(plan)
  const addrOf = async (r: EndpointRequest): Promise<string> => dialAddr(runtime.endpoint(r), await identity(r.name))
  const login = requests.find(r => r.group === 'login') as EndpointRequest
  const loginAddr = await addrOf(login)
  const bootstrapAddrs: string[] = []
  for (const r of requests.filter(r => r.group === 'peer' && r.wellKnown)) bootstrapAddrs.push(`${r.name}=${await addrOf(r)}`)
  // Dedicated supernodes learn of the others from the bootstrap list and announce themselves by exchange.
  if (labSecret === undefined) for (const p of plan.reserve) await identity(p.name)
  return { loginAddr, bootstrapAddrs, ...(labSecret !== undefined ? { labSecret } : {}) }
}

/** The settings of the login server, without the runtime's wiring. */
export function loginSettings (run: RunDir, plan: NetworkPlan, prov: Provisioned): Partial<PeerConfig> {
  return { ...plan.settings, runId: run.runId, peer: plan.login.name, role: 'login', seed: plan.seed, ...secretOf(prov) }
}

function secretOf (prov: Provisioned): Partial<PeerConfig> {
  return prov.labSecret !== undefined ? { labSecret: prov.labSecret } : {}
}

/** The settings of one peer: the plan's settings, then what is its own, without the runtime's wiring. */
export function peerSettings (run: RunDir, plan: NetworkPlan, p: PeerPlan, prov: Provisioned, extra: Partial<PeerConfig> = {}): Partial<PeerConfig> {
  return {
    ...plan.settings,
    ...extra,
    runId: run.runId,
    peer: p.name,
    role: 'peer',
    seed: plan.seed,
    loginAddr: prov.loginAddr,
    bootstrapAddrs: prov.bootstrapAddrs,
    bootstrap: p.bootstrap,
    capacityClass: p.capacityClass,
    reachable: p.reachable,
    ...secretOf(prov)
  }
}
