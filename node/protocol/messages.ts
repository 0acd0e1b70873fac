/**
 * Wire messages of the patchday protocols: JSON, one message per length-prefixed
 * frame, validated with zod on every read. Protocol ids are versioned.
 *
 * zod/mini, not classic zod: the same validation, but tree-shaken to a few KB of
 * the peer bundle instead of 570 KB that every one of hundreds of processes would
 * compile and keep in memory.
 */
import * as z from 'zod/mini'

export const PROTOCOL_LOGIN = '/patchday/login/1.0.0'
/** Client to supernode: attach, register, heartbeat, detach. */
export const PROTOCOL_SN = '/patchday/sn/1.0.0'
/**
 * Client to supernode, one long-lived stream per session: heartbeats and their
 * answers, numbered. A stream per heartbeat would cost a protocol negotiation and
 * about ten encrypted frames each; hundreds of idle peers would keep the host busy.
 */
export const PROTOCOL_HEARTBEAT = '/patchday/heartbeat/1.0.0'
/** Supernode to supernode: exchange of supernode lists. */
export const PROTOCOL_SNX = '/patchday/snx/1.0.0'

/** Largest frame any patchday protocol accepts. */
export const MESSAGE_BYTES_MAX = 16 * 1024
/** Longest list of supernodes in one message. */
export const SN_LIST_MAX = 64

const str = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max))
const count = z.int().check(z.minimum(0))
const share = z.number().check(z.minimum(0), z.maximum(1))
const name = z.string().check(z.regex(/^[A-Za-z0-9._-]{1,32}$/))
const addr = str(1, 256)

/**
 * A supernode as gossiped: a record signed by that supernode's own libp2p key
 * (the peer id in `addr` names the key; node/sn-record.ts), so that nobody can
 * speak for a supernode, claim its name at another address or make an old
 * record look fresh. `issuedAt` and `exp` are emulated ms (Clock.now()): stale
 * entries age out instead of circulating forever.
 */
export const SnInfo = z.strictObject({ name, addr, load: share, issuedAt: count, exp: count, sig: str(1, 128) })
export type SnInfo = z.infer<typeof SnInfo>
const snList = z.array(SnInfo).check(z.maxLength(SN_LIST_MAX))

export const Ticket = z.strictObject({
  account: str(1, 64),
  peerId: str(1, 128),
  exp: z.int().check(z.positive()),
  sig: str(1, 256)
})
export type Ticket = z.infer<typeof Ticket>

export const LoginRequest = z.strictObject({ t: z.literal('login'), account: str(1, 64), password: str(1, 256) })
export type LoginRequest = z.infer<typeof LoginRequest>

export const LoginResponse = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('ok'), ticket: Ticket }),
  // One answer for an unknown account and a wrong password: the login server does not say which accounts exist.
  z.strictObject({ t: z.literal('rejected'), reason: z.enum(['bad-credentials', 'invalid']) }),
  z.strictObject({ t: z.literal('busy'), retryAfterMs: count })
])
export type LoginResponse = z.infer<typeof LoginResponse>

export const SnRequest = z.discriminatedUnion('t', [
  // With a valid ticket the slot is proven (bound to the ticket's account) at once.
  z.strictObject({ t: z.literal('attach'), name, ticket: z.optional(Ticket) }),
  z.strictObject({ t: z.literal('register'), ticket: Ticket }),
  z.strictObject({ t: z.literal('heartbeat'), seq: z.optional(count) }),
  z.strictObject({ t: z.literal('detach') })
])
export type SnRequest = z.infer<typeof SnRequest>

export const SnResponse = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('attached'), deadlineMs: count }),
  z.strictObject({ t: z.literal('busy'), reason: z.enum(['full', 'budget', 'peer-budget']), retryAfterMs: count, alternatives: snList }),
  z.strictObject({ t: z.literal('not-supernode'), alternatives: snList }),
  z.strictObject({ t: z.literal('registered') }),
  z.strictObject({ t: z.literal('rejected'), reason: str(0, 128) }),
  z.strictObject({ t: z.literal('alive'), load: share, supernodes: snList, seq: z.optional(count) }),
  z.strictObject({ t: z.literal('unknown') }),
  z.strictObject({ t: z.literal('bye') })
])
export type SnResponse = z.infer<typeof SnResponse>

export const SnxMessage = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('exchange'), self: SnInfo, known: snList }),
  z.strictObject({ t: z.literal('not-supernode') })
])
export type SnxMessage = z.infer<typeof SnxMessage>
