/**
 * Wire messages of the patchday protocols: JSON, one message per length-prefixed
 * frame, validated with zod on every read. Protocol ids are versioned.
 */
import { z } from 'zod'

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

const name = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/)
const addr = z.string().min(1).max(256)

/** A supernode as gossiped: `ageMs` is how long ago (emulated) someone last heard from it directly, so stale entries age out instead of circulating forever. */
export const SnInfo = z.object({ name, addr, load: z.number().min(0).max(1), ageMs: z.number().int().min(0) }).strict()
export type SnInfo = z.infer<typeof SnInfo>
const snList = z.array(SnInfo).max(SN_LIST_MAX)

export const Ticket = z.object({
  account: z.string().min(1).max(64),
  peerId: z.string().min(1).max(128),
  exp: z.number().int().positive(),
  sig: z.string().min(1).max(256)
}).strict()
export type Ticket = z.infer<typeof Ticket>

export const LoginRequest = z.object({ t: z.literal('login'), account: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict()
export type LoginRequest = z.infer<typeof LoginRequest>

export const LoginResponse = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ok'), ticket: Ticket }).strict(),
  z.object({ t: z.literal('rejected'), reason: z.enum(['unknown-account', 'bad-password', 'invalid']) }).strict(),
  z.object({ t: z.literal('busy'), retryAfterMs: z.number().int().min(0) }).strict()
])
export type LoginResponse = z.infer<typeof LoginResponse>

export const SnRequest = z.discriminatedUnion('t', [
  z.object({ t: z.literal('attach'), name }).strict(),
  z.object({ t: z.literal('register'), ticket: Ticket }).strict(),
  z.object({ t: z.literal('heartbeat'), seq: z.number().int().min(0).optional() }).strict(),
  z.object({ t: z.literal('detach') }).strict()
])
export type SnRequest = z.infer<typeof SnRequest>

export const SnResponse = z.discriminatedUnion('t', [
  z.object({ t: z.literal('attached'), deadlineMs: z.number().int().min(0) }).strict(),
  z.object({ t: z.literal('busy'), reason: z.enum(['full', 'budget']), retryAfterMs: z.number().int().min(0), alternatives: snList }).strict(),
  z.object({ t: z.literal('not-supernode'), alternatives: snList }).strict(),
  z.object({ t: z.literal('registered') }).strict(),
  z.object({ t: z.literal('rejected'), reason: z.string().max(128) }).strict(),
  z.object({ t: z.literal('alive'), load: z.number().min(0).max(1), supernodes: snList, seq: z.number().int().min(0).optional() }).strict(),
  z.object({ t: z.literal('unknown') }).strict(),
  z.object({ t: z.literal('bye') }).strict()
])
export type SnResponse = z.infer<typeof SnResponse>

export const SnxMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('exchange'), self: SnInfo, known: snList }).strict(),
  z.object({ t: z.literal('not-supernode') }).strict()
])
export type SnxMessage = z.infer<typeof SnxMessage>
