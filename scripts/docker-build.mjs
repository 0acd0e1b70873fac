#!/usr/bin/env node
// npm run docker:build: the app image (docker/Dockerfile), tagged patchday:<version>
// (orchestrator/runtime/docker/image.ts), FROM $PATCHDAY_BASE_IMAGE or node:22-bookworm-slim.
// Builds dist/peer.mjs first only if it is missing. Extra arguments go to `docker build`
// (npm run docker:build -- --no-cache).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`patchday needs Node.js 22 or later, this is ${process.version}. Run through npm (npm run docker:build), which puts the project's own Node 22 first on PATH.`)
  process.exit(2)
}
const { IMAGE_DEFAULT, IMAGE_VERSION, BASE_IMAGE_DEFAULT, OFFLINE_BASE_IMAGE } = await import('../orchestrator/runtime/docker/image.ts')

if (!existsSync(join(root, 'dist', 'peer.mjs')) || !existsSync(join(root, 'dist', 'peer.mjs.map'))) {
  console.error('dist/peer.mjs is missing: building it (npm run build)')
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root })
  if (b.status !== 0) process.exit(b.status ?? 1)
}

const base = process.env.PATCHDAY_BASE_IMAGE || BASE_IMAGE_DEFAULT
const args = ['build', '-f', 'docker/Dockerfile', '-t', IMAGE_DEFAULT, '--build-arg', `BASE_IMAGE=${base}`,
  '--label', `org.opencontainers.image.version=${IMAGE_VERSION}`, ...process.argv.slice(2), '.']
console.error(`docker ${args.join(' ')}`)
const startMs = Date.now()
const r = spawnSync('docker', args, { stdio: 'inherit', cwd: root })
if (r.error !== undefined) {
  const e = /** @type {NodeJS.ErrnoException} */ (r.error)
  console.error(e.code === 'ENOENT' ? 'docker-build: no docker CLI on PATH: install Docker (Debian: apt-get install docker.io)' : `docker-build: ${e.message}`)
  process.exit(1)
}
if (r.status !== 0) {
  // The base image is pulled only when it is not here; still absent after a failed build
  // means the pull (or something before FROM) failed: no registry on this machine.
  const baseHere = spawnSync('docker', ['image', 'inspect', base], { stdio: 'ignore' }).status === 0
  if (!baseHere) {
    console.error(`\ndocker-build: the base image ${base} is not present and could not be pulled. Without a registry, build the offline base from this project's Node 22 and build on it:\n` +
      `  npm run docker:base\n  PATCHDAY_BASE_IMAGE=${OFFLINE_BASE_IMAGE} npm run docker:build`)
  }
  process.exit(r.status ?? 1)
}
const size = spawnSync('docker', ['image', 'inspect', '--format', '{{.Size}}', IMAGE_DEFAULT], { encoding: 'utf8' }).stdout.trim()
console.error(`built ${IMAGE_DEFAULT} FROM ${base}: ${Math.round(Number(size) / 1e6)} MB, in ${((Date.now() - startMs) / 1000).toFixed(1)} s`)
