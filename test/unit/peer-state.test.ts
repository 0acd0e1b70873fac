/** The peer's state files: a corrupt one is a StateFileError naming the file (exit 2), and nothing is written before every file checked out. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { parseBoots, parseCredentials, parseIdentity, parseAccounts, loadState, STATE_FILE_BYTES_MAX } from '../../node/peer-state.ts'
import { parseConfig, type PeerConfig } from '../../node/contract/config.ts'
import { BOOTS_FILE, CREDENTIALS_FILE, IDENTITY_FILE } from '../../node/contract/state-files.ts'

const corrupt = (file: string) => (err: unknown): boolean => {
  assert.equal((err as Error).name, 'StateFileError')
  assert.equal((err as { file: string }).file, file)
  assert.equal((err as { exitCode: number }).exitCode, 2)
  return true
}

test('boots: a whole number of boots; empty, garbage, negative, fractional and huge are refused', () => {
  assert.equal(parseBoots('b', '0'), 0)
  assert.equal(parseBoots('b', '41\n'), 41)
  for (const bad of ['', ' \n', 'garbage', '-1', '1.5', '1e3', '0x10', '9'.repeat(16), '12 13']) {
    assert.throws(() => parseBoots('b', bad), corrupt('b'), JSON.stringify(bad))
  }
})

test('identity.key: a protobuf private key; empty and garbage are refused', async () => {
  const key = await generateKeyPair('Ed25519')
  assert.ok(parseIdentity('k', privateKeyToProtobuf(key)).equals(key))
  for (const bad of [new Uint8Array(0), new TextEncoder().encode('garbage'), privateKeyToProtobuf(key).subarray(0, 10)]) {
    assert.throws(() => parseIdentity('k', bad), corrupt('k'))
  }
})

test('credentials.json and the accounts file: JSON of their shape', () => {
  assert.deepEqual(parseCredentials('c', '{"account":"p-001","password":"pw"}'), { account: 'p-001', password: 'pw' })
  for (const bad of ['', '{"account":', '[]', '{"account":"p-001"}', '{"account":"","password":"x"}', '{"account":"a","password":"b","extra":1}']) {
    assert.throws(() => parseCredentials('c', bad), corrupt('c'), bad)
  }
  assert.deepEqual(parseAccounts('a', '{"version":1,"accounts":{}}'), { version: 1, accounts: {} })
  for (const bad of ['', 'null', '{"version":2,"accounts":{}}']) assert.throws(() => parseAccounts('a', bad), corrupt('a'), bad)
})

async function withState (fn: (dir: string, config: PeerConfig) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'patchday-state-'))
  const config = parseConfig({ PATCHDAY_RUN_ID: 'r', PATCHDAY_PEER: 'p-001', PATCHDAY_ROLE: 'peer', PATCHDAY_STATE_DIR: dir, PATCHDAY_SEED: 's', PATCHDAY_LOGIN_ADDR: '/ip4/127.0.0.1/tcp/4000' })
  try {
    await fn(dir, config)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('loadState counts boots and keeps the identity; a corrupt file stops it before anything is written', async () => {
  await withState(async (dir, config) => {
    await writeFile(join(dir, CREDENTIALS_FILE), JSON.stringify({ account: 'p-001', password: 'pw' }))
    const first = await loadState(config)
    assert.equal(first.inc, 1)
    assert.deepEqual(first.credentials, { account: 'p-001', password: 'pw' })
    const second = await loadState(config)
    assert.equal(second.inc, 2)
    assert.ok(second.privateKey.equals(first.privateKey), 'the identity made at the first boot is kept')
    assert.equal(await readFile(join(dir, BOOTS_FILE), 'utf8'), '2')

    // A corrupt identity (or credentials) file: the boot count is not touched.
    await writeFile(join(dir, IDENTITY_FILE), 'garbage')
    await assert.rejects(loadState(config), corrupt(join(dir, IDENTITY_FILE)))
    await writeFile(join(dir, IDENTITY_FILE), privateKeyToProtobuf(first.privateKey))
    await writeFile(join(dir, CREDENTIALS_FILE), '')
    await assert.rejects(loadState(config), corrupt(join(dir, CREDENTIALS_FILE)))
    assert.equal(await readFile(join(dir, BOOTS_FILE), 'utf8'), '2')
    await writeFile(join(dir, BOOTS_FILE), 'x'.repeat(STATE_FILE_BYTES_MAX + 1))
    await assert.rejects(loadState(config), corrupt(join(dir, BOOTS_FILE)))
  })
})

test('without a lab secret, a missing credentials.json is refused too', async () => {
  await withState(async (dir, config) => {
    await assert.rejects(loadState(config), corrupt(join(dir, CREDENTIALS_FILE)))
  })
})
