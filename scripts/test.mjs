#!/usr/bin/env node
// The one test command (README and .ci/run): builds, then runs node's test runner
// over test/<suite>/**/*.test.ts. Suites: unit, integration, system (default: all).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`patchday needs Node.js 22 or later, this is ${process.version}. Run through npm (npm test), which puts the project's own Node 22 (the 'node' package) first on PATH.`)
  process.exit(2)
}
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'system']
const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (name.endsWith('.test.ts')) files.push(p)
  }
}
for (const s of suites) walk(join(root, 'test', s))
const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' })
if (b.status !== 0) process.exit(b.status ?? 1)
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=600000', ...files], { stdio: 'inherit', cwd: root })
process.exit(r.status ?? 1)
