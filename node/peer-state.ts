/**
 * A process's state files (node/contract/state-files.ts): the boot count, the
 * identity key and the credentials, read and checked before anything is
 * written or logged, so that a corrupt file ends the process with one line
 * that names the file and what to do (StateFileError, exit 2) instead of a
 * crash. The parsers are pure; loadState is the I/O around them.
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { PeerConfig } from './contract/config.ts'
import { StateFileError } from './contract/errors.ts'
import { AccountsFile, Credentials } from './contract/accounts.ts'
import { describeIssue } from './contract/schema-issue.ts'
import { labPassword, labPrivateKey } from './contract/lab-secret.ts'
import { IDENTITY_FILE, CREDENTIALS_FILE, BOOTS_FILE } from './contract/state-files.ts'

/** A state file larger than this is not one of ours (the largest, credentials, is under 400 bytes; accounts are read elsewhere). */
export const STATE_FILE_BYTES_MAX = 64 * 1024
/** A boot count is at most this many digits (Number.MAX_SAFE_INTEGER has 16). */
const BOOTS_DIGITS_MAX = 15

const NEW_RUN = "or start a new run with 'patchday up'"

/** What to do about each file, in the one line the process prints. */
const REMEDY = {
  boots: `delete it to count boots from 1 again (the peer's incarnation restarts at 1), ${NEW_RUN}`,
  identity: `delete it and the peer makes a new identity at its next boot, unless others know it by its peer id (the login server, a bootstrap supernode): then restore it ${NEW_RUN}`,
  credentials: `its password was made at 'patchday up' and is kept nowhere else: restore it ${NEW_RUN}`,
  accounts: `the accounts were made at 'patchday up': restore the file ${NEW_RUN}`
}

function quote (text: string): string {
  return JSON.stringify(text.length > 24 ? `${text.slice(0, 24)}...` : text)
}

/** The boot count in `boots` (pure): a whole number of boots so far. */
export function parseBoots (file: string, text: string): number {
  const t = text.trim()
  const n = Number(t)
  if (!new RegExp(`^\\d{1,${BOOTS_DIGITS_MAX}}$`).test(t) || !Number.isSafeInteger(n)) {
    throw new StateFileError(file, `expected the number of boots so far, found ${t === '' ? 'an empty file' : quote(t)}`, REMEDY.boots)
  }
  return n
}

/** The identity key in `identity.key` (pure): a libp2p private key, protobuf-encoded. */
export function parseIdentity (file: string, bytes: Uint8Array): PrivateKey {
  try {
    if (bytes.length === 0) throw new Error('empty file')
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new StateFileError(file, `not a libp2p private key (${(err as Error).message})`, REMEDY.identity)
  }
}

/** JSON text of `file` checked against `schema`; a StateFileError saying what it is not, and `remedy`. */
function parseJsonState<T> (file: string, text: string, schema: { safeParse: (v: unknown) => { success: true, data: T } | { success: false, error: Parameters<typeof describeIssue>[0] } }, what: string, remedy: string): T {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new StateFileError(file, `not JSON (${(err as Error).message})`, remedy)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw new StateFileError(file, `not ${what} (${describeIssue(parsed.error)})`, remedy)
  return parsed.data
}

/** The account and password in `credentials.json` (pure). */
export function parseCredentials (file: string, text: string): Credentials {
  return parseJsonState(file, text, Credentials, '{account, password}', REMEDY.credentials)
}

/** The login server's accounts file (pure). */
export function parseAccounts (file: string, text: string): AccountsFile {
  return parseJsonState(file, text, AccountsFile, 'an accounts file', REMEDY.accounts)
}

async function atomicWrite (path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data)
  await rename(`${path}.tmp`, path)
}

interface ReadOptions {
  /** What to do when the file is missing (then it is required) or unreadable. */
  remedy: string
  required?: boolean
  bytesMax?: number
}

/** A state file's bytes; null when it does not exist (and is not required); a StateFileError when it cannot be read or is far too large. */
export async function readStateFile (path: string, o: ReadOptions): Promise<Buffer | null> {
  let raw: Buffer
  try {
    raw = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && o.required !== true) return null
    throw new StateFileError(path, code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? (err as Error).message})`, o.remedy)
  }
  const max = o.bytesMax ?? STATE_FILE_BYTES_MAX
  if (raw.length > max) throw new StateFileError(path, `${raw.length} bytes, more than this file ever holds (${max})`, o.remedy)
  return raw
}

/** Accounts files hold a record (about 150 bytes) per peer: room for far more peers than a run has. */
export const ACCOUNTS_FILE_BYTES_MAX = 64 * 1024 * 1024

/** The login server's accounts (PATCHDAY_ACCOUNTS_FILE). */
export async function loadAccountsFile (path: string): Promise<AccountsFile> {
  const raw = await readStateFile(path, { remedy: REMEDY.accounts, required: true, bytesMax: ACCOUNTS_FILE_BYTES_MAX }) as Buffer
  return parseAccounts(path, raw.toString('utf8'))
}

export interface PeerState {
  /** This boot's incarnation (1 at the first boot). */
  inc: number
  privateKey: PrivateKey
  /** The peer's account (null for the login server). */
  credentials: Credentials | null
}

/**
 * Read and check every state file, then record this boot: nothing is written
 * (not even the boot count) unless every file is good. An identity is made at
 * the first boot when there is none and no lab secret to derive it from.
 */
export async function loadState (config: PeerConfig): Promise<PeerState> {
  const dir = config.stateDir
  const bootsFile = join(dir, BOOTS_FILE)
  const rawBoots = await readStateFile(bootsFile, { remedy: REMEDY.boots })
  const inc = (rawBoots === null ? 0 : parseBoots(bootsFile, rawBoots.toString('utf8'))) + 1

  const identityFile = join(dir, IDENTITY_FILE)
  let privateKey: PrivateKey | null = null
  if (config.labSecret !== '') privateKey = await labPrivateKey(config.labSecret, config.peer)
  else {
    const raw = await readStateFile(identityFile, { remedy: REMEDY.identity })
    if (raw !== null) privateKey = parseIdentity(identityFile, raw)
  }

  let credentials: Credentials | null = null
  if (config.role === 'peer') {
    const file = join(dir, CREDENTIALS_FILE)
    // With a lab secret the file is optional: the account of the peer's own name and its derived password.
    const raw = await readStateFile(file, { remedy: REMEDY.credentials, required: config.labSecret === '' })
    credentials = raw !== null ? parseCredentials(file, raw.toString('utf8')) : { account: config.peer, password: labPassword(config.labSecret, config.peer) }
  }

  await atomicWrite(bootsFile, String(inc))
  if (privateKey === null) {
    privateKey = await generateKeyPair('Ed25519')
    await atomicWrite(identityFile, privateKeyToProtobuf(privateKey))
  }
  return { inc, privateKey, credentials }
}
