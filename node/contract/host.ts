/**
 * Facts about the machine a process runs on, as configuration uses them: its
 * host name in a peer name (`peer-{hostname}`: each replica of a scaled
 * container service is named after its container), and the address it
 * announces (`PATCHDAY_ANNOUNCE_IP=auto`). Pure: the caller passes the host
 * name and the interface list (os.hostname(), os.networkInterfaces()).
 */

export const HOSTNAME_PLACEHOLDER = '{hostname}'

/** A dotted-quad IPv4 address (each part 0..255, no leading zeros), for use inside a RegExp. */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])'
export const IPV4 = `${OCTET}(\\.${OCTET}){3}`
const IPV4_RE = new RegExp(`^${IPV4}$`)

/** One address of an interface, as os.networkInterfaces() lists it (`family` was a number in some Node 18 releases). */
export interface InterfaceAddress { address: string, family: string | number, internal: boolean }
export type Interfaces = Record<string, readonly InterfaceAddress[] | undefined>

/** A host name with every character outside [A-Za-z0-9._-] replaced by '-'. */
export function sanitizeHostname (name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-')
}

/** `value` with every `{hostname}` replaced by the sanitised host name. */
export function substituteHostname (value: string, hostname: string): string {
  return value.replaceAll(HOSTNAME_PLACEHOLDER, sanitizeHostname(hostname))
}

/** The address as an unsigned 32-bit number, or undefined when it is not a dotted-quad IPv4 address. */
export function ipv4ToInt (ip: string): number | undefined {
  if (!IPV4_RE.test(ip)) return undefined
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

export interface Cidr { base: number, bits: number }

/** `10.20.0.0/16` → its network and prefix length; undefined when it is not an IPv4 CIDR. Host bits may be set (`10.20.3.4/16` is 10.20.0.0/16). */
export function parseCidr (s: string): Cidr | undefined {
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(s)
  if (m === null) return undefined
  const ip = ipv4ToInt(m[1] as string)
  const bits = Number(m[2])
  if (ip === undefined || bits > 32) return undefined
  return { base: ip - (ip % 2 ** (32 - bits)), bits }
}

export function inCidr (ip: string, cidr: Cidr): boolean {
  const n = ipv4ToInt(ip)
  return n !== undefined && n - (n % 2 ** (32 - cidr.bits)) === cidr.base
}

function isIpv4 (a: InterfaceAddress): boolean {
  return (a.family === 'IPv4' || a.family === 4) && ipv4ToInt(a.address) !== undefined
}

/** Every IPv4 address of the interfaces, in their order (for messages). */
export function ipv4Addresses (interfaces: Interfaces): string[] {
  return Object.values(interfaces).flatMap(list => (list ?? []).filter(isIpv4).map(a => a.address))
}

/**
 * The address to announce: the first IPv4 address inside `subnet` (internal
 * ones included: a lab on loopback is a subnet too), or without a subnet the
 * first non-internal IPv4 address; undefined when there is none.
 */
export function pickAnnounceIp (interfaces: Interfaces, subnet: Cidr | null): string | undefined {
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (!isIpv4(a)) continue
      if (subnet !== null ? inCidr(a.address, subnet) : !a.internal) return a.address
    }
  }
  return undefined
}
