import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inCidr, ipv4Addresses, ipv4ToInt, parseCidr, pickAnnounceIp, sanitizeHostname, substituteHostname, type Interfaces } from '../../node/contract/host.ts'

const lo = { address: '127.0.0.1', family: 'IPv4', internal: true }
const v6 = { address: 'fe80::1', family: 'IPv6', internal: false }
const ip = (address: string, internal = false): { address: string, family: string, internal: boolean } => ({ address, family: 'IPv4', internal })

test('host names are sanitised to [A-Za-z0-9._-] and substituted for every {hostname}', () => {
  assert.equal(sanitizeHostname('3f2a9c1d0e4b'), '3f2a9c1d0e4b')
  assert.equal(sanitizeHostname('my host/1:x'), 'my-host-1-x')
  assert.equal(sanitizeHostname('höst'), 'h-st')
  assert.equal(substituteHostname('peer-{hostname}', '3f2a9c1d0e4b'), 'peer-3f2a9c1d0e4b')
  assert.equal(substituteHostname('{hostname}.{hostname}', 'a b'), 'a-b.a-b')
  assert.equal(substituteHostname('p-001', 'x'), 'p-001')
})

test('IPv4 addresses and CIDRs are parsed strictly', () => {
  assert.equal(ipv4ToInt('10.0.0.1'), 10 * 2 ** 24 + 1)
  assert.equal(ipv4ToInt('255.255.255.255'), 2 ** 32 - 1)
  for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '']) assert.equal(ipv4ToInt(bad), undefined, bad)
  assert.deepEqual(parseCidr('10.20.0.0/16'), { base: ipv4ToInt('10.20.0.0'), bits: 16 })
  assert.deepEqual(parseCidr('10.20.3.4/16'), parseCidr('10.20.0.0/16'))
  assert.deepEqual(parseCidr('0.0.0.0/0'), { base: 0, bits: 0 })
  for (const bad of ['10.20.0.0', '10.20.0.0/33', '10.300.0.0/16', '10.20.0.0/-1', 'x/8']) assert.equal(parseCidr(bad), undefined, bad)
  const net = parseCidr('10.20.0.0/16')
  assert.ok(net !== undefined)
  assert.equal(inCidr('10.20.255.1', net), true)
  assert.equal(inCidr('10.21.0.1', net), false)
  assert.equal(inCidr('10.19.255.255', net), false)
  assert.equal(inCidr('1.2.3.4', parseCidr('1.2.3.4/32') as NonNullable<ReturnType<typeof parseCidr>>), true)
  assert.equal(inCidr('1.2.3.5', parseCidr('1.2.3.4/32') as NonNullable<ReturnType<typeof parseCidr>>), false)
})

test('auto announce: the first non-internal IPv4 address, skipping loopback and IPv6', () => {
  const ifs: Interfaces = { lo: [lo], eth0: [v6, ip('172.18.0.5')], eth1: [ip('10.0.1.7')] }
  assert.equal(pickAnnounceIp(ifs, null), '172.18.0.5')
  // Node 18.0-18.3 gave the family as a number.
  assert.equal(pickAnnounceIp({ eth0: [{ address: '172.18.0.6', family: 4, internal: false }] }, null), '172.18.0.6')
  assert.equal(pickAnnounceIp({ lo: [lo], eth0: [v6], none: undefined }, null), undefined)
  assert.equal(pickAnnounceIp({}, null), undefined)
})

test('auto announce in a subnet: the first address inside it, wherever it is listed', () => {
  // A Swarm task: ingress, an overlay network, the bridge to the host.
  const ifs: Interfaces = { lo: [lo], eth0: [ip('10.0.0.12')], eth1: [ip('10.20.3.4')], eth2: [ip('172.18.0.3')] }
  assert.equal(pickAnnounceIp(ifs, parseCidr('10.20.0.0/16') ?? null), '10.20.3.4')
  assert.equal(pickAnnounceIp(ifs, parseCidr('172.18.0.0/16') ?? null), '172.18.0.3')
  assert.equal(pickAnnounceIp(ifs, parseCidr('192.168.0.0/16') ?? null), undefined)
  // Inside a named subnet, an internal address counts (a lab on loopback).
  assert.equal(pickAnnounceIp(ifs, parseCidr('127.0.0.0/8') ?? null), '127.0.0.1')
  assert.deepEqual(ipv4Addresses(ifs), ['127.0.0.1', '10.0.0.12', '10.20.3.4', '172.18.0.3'])
})
