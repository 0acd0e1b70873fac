#!/usr/bin/env node
// patchday's command. libp2p 3 needs Node.js 22 or later; the project ships one
// through the npm package `node` (node_modules/.bin/node). When this file is run by
// an older Node (e.g. a system Node 20), it re-runs itself with the project's own.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const local = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(local)) {
    console.error(`patchday needs Node.js 22 or later (this is ${process.version}); run 'npm install' in ${root} to get the project's own`)
    process.exit(2)
  }
  const r = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
const cli = join(root, 'dist', 'cli.mjs')
if (!existsSync(cli)) {
  console.error(`patchday is not built: run 'npm run build' in ${root}`)
  process.exit(2)
}
// Stack traces (PATCHDAY_DEBUG=1, or a crash) name orchestrator/*.ts, not the bundle: the CLI is one
// short-lived process, so parsing its source map (about 10 ms) is cheap, unlike in hundreds of peers.
process.setSourceMapsEnabled(true)
const { main } = await import(cli)
process.exitCode = await main(process.argv.slice(2))
