/**
 * Provisioning at `up`: accounts (salted scrypt hashes, never plain) for every
 * peer, each peer's credentials in its own state directory, and identities for
 * the login server and the bootstrap supernodes, whose addresses the others must
 * know before they boot.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { hashPassword, type AccountsFile } from '../node/contract/accounts.ts'
import { configToEnv, type PeerConfig } from '../node/contract/config.ts'
import type { NetworkPlan, PeerPlan } from './network-plan.ts'
import { PEER_PORT } from './network-plan.ts'
import { type RunDir, writeJsonAtomic } from './run-dir.ts'
import { IDENTITY_FILE, CREDENTIALS_FILE } from '../node/contract/state-files.ts'


export interface Provisioned {
  loginAddr: string
  /** `name=multiaddr` for every bootstrap supernode. */
  bootstrapAddrs: string[]
}

async function writeIdentity (dir: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, IDENTITY_FILE), privateKeyToProtobuf(key), { mode: 0o600 })
  return peerIdFromPrivateKey(key).toString()
}

export async function provision (run: RunDir, plan: NetworkPlan): Promise<Provisioned> {
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
  const loginId = await writeIdentity(run.stateDir(plan.login.name))
  const bootstrapAddrs: string[] = []
  for (const p of plan.peers.filter(p => p.bootstrap)) {
    const id = await writeIdentity(run.stateDir(p.name))
    bootstrapAddrs.push(`${p.name}=/ip4/${p.ip}/tcp/${PEER_PORT}/p2p/${id}`)
  }
  // Dedicated supernodes learn of the others from the bootstrap list and announce themselves by exchange.
  for (const p of plan.reserve) await writeIdentity(run.stateDir(p.name))
  return { loginAddr: `/ip4/${plan.login.ip}/tcp/${plan.login.port}/p2p/${loginId}`, bootstrapAddrs }
}

/** The environment of the login server. */
export function loginEnv (run: RunDir, plan: NetworkPlan): Record<string, string> {
  return configToEnv({
    ...plan.settings,
    runId: run.runId,
    peer: plan.login.name,
    role: 'login',
    stateDir: run.stateDir(plan.login.name),
    seed: plan.seed,
    listenIp: plan.login.ip,
    port: plan.login.port,
    accountsFile: run.accountsFile
  })
}

/** The environment of one peer: the plan's settings, then what is its own. */
export function peerEnv (run: RunDir, plan: NetworkPlan, p: PeerPlan, prov: Provisioned, extra: Partial<PeerConfig> = {}): Record<string, string> {
  return configToEnv({
    ...plan.settings,
    ...extra,
    runId: run.runId,
    peer: p.name,
    role: 'peer',
    stateDir: run.stateDir(p.name),
    seed: plan.seed,
    listenIp: p.ip,
    port: PEER_PORT,
    loginAddr: prov.loginAddr,
    bootstrapAddrs: prov.bootstrapAddrs,
    bootstrap: p.bootstrap,
    capacityClass: p.capacityClass,
    reachable: p.reachable
  })
}
