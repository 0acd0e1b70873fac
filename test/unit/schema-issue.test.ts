import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeIssue } from '../../node/contract/schema-issue.ts'
import { SnRequest } from '../../node/protocol/messages.ts'

function issueOf (value: unknown): string {
  const r = SnRequest.safeParse(value)
  assert.equal(r.success, false)
  return r.success ? '' : describeIssue(r.error)
}

test('a failed validation is described by its first issue\'s code and the path to the field', () => {
  assert.equal(issueOf({ t: 'register', ticket: { account: 'a', peerId: 'p', exp: 'soon', sig: 's' } }), 'invalid_type at ticket.exp')
  assert.equal(issueOf({ t: 'attach', name: 'p-001', extra: 1 }), 'unrecognized_keys at top level')
  assert.match(issueOf([]), /^\w+ at top level$/)
})

test('no issue at all is "invalid"', () => {
  assert.equal(describeIssue({ issues: [] }), 'invalid')
})
