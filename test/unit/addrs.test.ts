import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bootstrapAddresses, loginAddress } from '../../node/contract/addrs.ts'
import { labPeerId } from '../../node/contract/lab-secret.ts'

const SECRET = '0123456789abcdef'
const ID = '12D3KooWAV3brKHBtHU8xPjf4mB8G58Cg5cf8LDmBE5jwEgbWRJW'

async function assertConfigError (p: Promise<unknown>, variable: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'ConfigError')
    assert.equal((err as Error & { variable: string }).variable, variable)
    return true
  })
}

test('complete addresses pass unchanged, /ip4/ and /dns4/, with or without a secret', async () => {
  for (const a of [`/ip4/127.0.0.1/tcp/4000/p2p/${ID}`, `/dns4/login/tcp/4000/p2p/${ID}`]) {
    assert.equal(await loginAddress(a, ''), a)
    // An explicit id wins over the derived one.
    assert.equal(await loginAddress(a, SECRET), a)
  }
  assert.deepEqual(await bootstrapAddresses([`sn-1=/dns4/sn-1/tcp/4001/p2p/${ID}`], ''), [{ name: 'sn-1', addr: `/dns4/sn-1/tcp/4001/p2p/${ID}` }])
})

test('with a lab secret the /p2p/ part is derived: login for the login server, the entry name for a bootstrap supernode', async () => {
  assert.equal(await loginAddress('/dns4/login/tcp/4000', SECRET), `/dns4/login/tcp/4000/p2p/${await labPeerId(SECRET, 'login')}`)
  assert.equal(await loginAddress('/ip4/10.0.0.2/tcp/4000', SECRET), `/ip4/10.0.0.2/tcp/4000/p2p/${await labPeerId(SECRET, 'login')}`)
  const refs = await bootstrapAddresses(['sn-1=/dns4/sn-1/tcp/4001', `sn-2=/ip4/10.0.0.3/tcp/4001/p2p/${ID}`], SECRET)
  assert.deepEqual(refs, [
    { name: 'sn-1', addr: `/dns4/sn-1/tcp/4001/p2p/${await labPeerId(SECRET, 'sn-1')}` },
    { name: 'sn-2', addr: `/ip4/10.0.0.3/tcp/4001/p2p/${ID}` }
  ])
})

test('without a lab secret an address needs its /p2p/ part', async () => {
  await assertConfigError(loginAddress('/dns4/login/tcp/4000', ''), 'PATCHDAY_LOGIN_ADDR')
  await assertConfigError(bootstrapAddresses(['sn-1=/ip4/10.0.0.3/tcp/4001'], ''), 'PATCHDAY_BOOTSTRAP_ADDRS')
})

test('addresses of another shape are refused by name', async () => {
  for (const bad of ['not-a-multiaddr', '/ip4/10.0.0.2', '/ip4/10.0.0.2/udp/4000', '/dns6/login/tcp/4000', '/ip6/::1/tcp/4000', '/dnsaddr/login', `/ip4/10.0.0.2/tcp/4000/ws/p2p/${ID}`, '/ip4/10.0.0.2/tcp/4000/p2p/notanid']) {
    await assertConfigError(loginAddress(bad, SECRET), 'PATCHDAY_LOGIN_ADDR')
  }
  for (const bad of ['/dns4/sn-1/tcp/4001', '=/dns4/sn-1/tcp/4001', 'sn-1=/dns4/sn-1']) {
    await assertConfigError(bootstrapAddresses([bad], SECRET), 'PATCHDAY_BOOTSTRAP_ADDRS')
  }
})
