/** Teardown's network removal against a fake engine that keeps "active endpoints" for a while after the containers are gone. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { removeNetwork, type RemovableNetwork } from '../../orchestrator/runtime/docker/engine.ts'

const httpError = (statusCode: number, message: string): Error => Object.assign(new Error(message), { statusCode })

/** A network whose remove() answers 403 `busyFor` times, listing `attached` containers in inspect() until they are disconnected. */
function fakeNetwork (busyFor: number, attached: string[] = []): RemovableNetwork & { removes: number, disconnected: string[] } {
  const net = {
    removes: 0,
    disconnected: [] as string[],
    async remove () {
      net.removes++
      if (net.removes <= busyFor) throw httpError(403, 'error while removing network: network x has active endpoints')
    },
    async inspect () {
      return { Containers: Object.fromEntries(attached.filter(a => !net.disconnected.includes(a)).map(a => [`id-${a}`, { Name: a }])) }
    },
    async disconnect (opts: { Container: string }) {
      net.disconnected.push(opts.Container)
    }
  }
  return net as unknown as RemovableNetwork & { removes: number, disconnected: string[] }
}

test('active endpoints that outlast the containers: removal is retried until they are released', async () => {
  const net = fakeNetwork(3)
  assert.equal(await removeNetwork(net, 5000, 1), true)
  assert.equal(net.removes, 4, 'three refusals, then removed')
})

test('a container still attached is disconnected, then the network removed', async () => {
  const net = fakeNetwork(1, ['p-001'])
  assert.equal(await removeNetwork(net, 5000, 1), true)
  assert.deepEqual(net.disconnected, ['p-001'])
})

test('a network gone already is not an error; endpoints that never go are, after the wait', async () => {
  const gone = { remove: async () => { throw httpError(404, 'no such network') } } as unknown as RemovableNetwork
  assert.equal(await removeNetwork(gone, 5000, 1), false)
  const stuck = fakeNetwork(Infinity)
  await assert.rejects(removeNetwork(stuck, 50, 5), /active endpoints/)
  assert.ok(stuck.removes >= 2, 'it retried before giving up')
  const other = { remove: async () => { throw httpError(500, 'engine broke') } } as unknown as RemovableNetwork
  await assert.rejects(removeNetwork(other, 5000, 1), /engine broke/, 'other errors are not retried')
})
