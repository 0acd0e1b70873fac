/**
 * The dial addresses a process is configured with (PATCHDAY_LOGIN_ADDR, the
 * entries of PATCHDAY_BOOTSTRAP_ADDRS): `/ip4/<ip>/tcp/<port>/p2p/<id>` or
 * `/dns4/<host>/tcp/<port>/p2p/<id>` (a container dials another by name). With
 * a lab secret the `/p2p/<id>` part may be left out: the id is then derived
 * from the name, `login` for the login server, the entry's name for a
 * bootstrap supernode.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConfigError } from './errors.ts'
import { labPeerId } from './lab-secret.ts'
import type { SupernodeRef } from './events.ts'

/** The name the login server's identity is derived from. */
export const LAB_LOGIN_NAME = 'login'

/** The peer id in a multiaddr's /p2p/ part, or undefined. */
export function multiaddrPeerId (ma: Multiaddr): string | undefined {
  return ma.getComponents().find(c => c.name === 'p2p')?.value
}

/** The same for an address as text; undefined too when it is not a multiaddr at all (bad input from a peer). */
export function peerIdOf (addr: string): string | undefined {
  try {
    return multiaddrPeerId(multiaddr(addr))
  } catch {
    return undefined
  }
}

const SHAPE = 'expected /ip4/<ip>/tcp/<port>[/p2p/<id>] or /dns4/<host>/tcp/<port>[/p2p/<id>]'

/**
 * `addr` checked and with its `/p2p/<id>`: the given one, else the one derived
 * from `labSecret` and `name`. ConfigError naming `variable` (the value shown is `shown`).
 */
export async function completeAddr (addr: string, name: string, labSecret: string, variable: string, shown = addr): Promise<string> {
  let parts: Array<{ name: string, value?: string }>
  try {
    parts = multiaddr(addr).getComponents()
  } catch (err) {
    throw new ConfigError(variable, shown, `bad multiaddr: ${(err as Error).message}`)
  }
  const names = parts.map(p => p.name)
  const hasId = names.length === 3 && names[2] === 'p2p'
  if (!(names.length === 2 || hasId) || !['ip4', 'dns4'].includes(names[0] as string) || names[1] !== 'tcp') throw new ConfigError(variable, shown, SHAPE)
  if (hasId) {
    try {
      peerIdFromString(parts[2]?.value ?? '')
    } catch (err) {
      throw new ConfigError(variable, shown, `bad peer id: ${(err as Error).message}`)
    }
    return addr
  }
  if (labSecret === '') throw new ConfigError(variable, shown, 'needs a /p2p/<peer-id> part (or PATCHDAY_LAB_SECRET, from which it is derived)')
  return `${addr}/p2p/${await labPeerId(labSecret, name)}`
}

/** PATCHDAY_LOGIN_ADDR, complete. */
export async function loginAddress (addr: string, labSecret: string): Promise<string> {
  return await completeAddr(addr, LAB_LOGIN_NAME, labSecret, 'PATCHDAY_LOGIN_ADDR')
}

/** PATCHDAY_BOOTSTRAP_ADDRS (`name=multiaddr` items), complete. */
export async function bootstrapAddresses (list: readonly string[], labSecret: string): Promise<SupernodeRef[]> {
  return await Promise.all(list.map(async (item) => {
    const eq = item.indexOf('=')
    if (eq < 1) throw new ConfigError('PATCHDAY_BOOTSTRAP_ADDRS', item, 'expected name=multiaddr')
    const name = item.slice(0, eq)
    return { name, addr: await completeAddr(item.slice(eq + 1), name, labSecret, 'PATCHDAY_BOOTSTRAP_ADDRS', item) }
  }))
}
