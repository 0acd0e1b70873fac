/** Swarm teardown's `stack rm` against a fake CLI whose network stays in use while the removed services' tasks shut down (found by CI). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { removeStack } from '../../orchestrator/runtime/swarm.ts'
import { RuntimeError } from '../../orchestrator/errors.ts'

const inUse = new RuntimeError('docker stack rm failed: Failed to remove network abc: Error response from daemon: rpc error: code = FailedPrecondition desc = network abc is in use by task xyzfailed to remove some resources from stack: patchday-r')

/** A `stack rm` that fails `busyFor` times with `err`, then succeeds; it records the projects it was asked for. */
function fakeRm (busyFor: number, err: Error = inUse): ((p: string) => Promise<void>) & { calls: string[] } {
  const calls: string[] = []
  const rm = async (p: string): Promise<void> => {
    calls.push(p)
    if (calls.length <= busyFor) throw err
  }
  return Object.assign(rm, { calls })
}

test('a network still in use by a shutting-down task: stack rm is repeated until it goes', async () => {
  const rm = fakeRm(3)
  await removeStack('patchday-r', rm, 5000, 1)
  assert.deepEqual(rm.calls, ['patchday-r', 'patchday-r', 'patchday-r', 'patchday-r'], 'three refusals, then removed')
})

test('a stack removed at the first try is asked for once', async () => {
  const rm = fakeRm(0)
  await removeStack('patchday-r', rm, 5000, 1)
  assert.equal(rm.calls.length, 1)
})

test('other failures are not retried; a network in use past the wait fails with the engine\'s words', async () => {
  const other = fakeRm(Infinity, new RuntimeError('docker stack rm failed: Cannot connect to the Docker daemon'))
  await assert.rejects(removeStack('patchday-r', other, 5000, 1), /Cannot connect/)
  assert.equal(other.calls.length, 1)
  const stuck = fakeRm(Infinity)
  await assert.rejects(removeStack('patchday-r', stuck, 50, 5), /is in use by task/)
  assert.ok(stuck.calls.length >= 2, 'it retried before giving up')
})
