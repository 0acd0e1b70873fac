/** What the container system tests share: is Docker here, is the image built, what is left of a run. */
import Docker from 'dockerode'
import { IMAGE_DEFAULT } from '../../orchestrator/runtime/docker/image.ts'

export const docker = new Docker()

/** Why the container tests cannot run here, or null when they can (the engine answers and the image is built). */
export async function dockerSkipReason (): Promise<string | null> {
  try {
    await docker.ping()
  } catch (err) {
    return `no Docker engine reachable (${(err as Error).message}); .ci/run starts one`
  }
  try {
    await docker.getImage(IMAGE_DEFAULT).inspect()
  } catch {
    return `image ${IMAGE_DEFAULT} not built: npm run docker:build`
  }
  return null
}

/** Containers, networks and volumes carrying `label` (e.g. patchday.run=<id>). */
export async function leftovers (label: string): Promise<{ containers: number, networks: number, volumes: number }> {
  const containers = (await docker.listContainers({ all: true, filters: { label: [label] } })).length
  const networks = (await docker.listNetworks({ filters: { label: [label] } })).length
  const volumes = ((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []).length
  return { containers, networks, volumes }
}

export async function swarmState (): Promise<string> {
  const info = await docker.info() as { Swarm?: { LocalNodeState?: string } }
  return info.Swarm?.LocalNodeState ?? 'inactive'
}

/**
 * Leave a swarm this process created, and remove the docker_gwbridge network `swarm init`
 * made (it outlives the swarm). The engine detaches the ingress sandbox from that bridge
 * after `swarm leave` returns, so removal can fail for a moment ("has active endpoints"):
 * retry, force-disconnecting what is still attached, for up to `waitMs`. Returns what is
 * left, or null when nothing is, so that the caller can report it without failing a
 * test whose assertions passed.
 */
export async function leaveSwarm (waitMs = 30_000): Promise<string | null> {
  try {
    await docker.swarmLeave({ force: true })
  } catch (err) {
    if (await swarmState() !== 'inactive') return `swarm leave failed: ${(err as Error).message}`
  }
  const deadline = Date.now() + waitMs
  let last = ''
  for (;;) {
    const found = await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })
    const net = found.find(n => n.Name === 'docker_gwbridge')
    if (net === undefined) return null
    const bridge = docker.getNetwork(net.Id)
    try {
      await bridge.remove()
      return null
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() >= deadline) return `docker_gwbridge not removed after ${waitMs / 1000} s: ${last}`
    const info = await bridge.inspect().catch(() => undefined) as { Containers?: Record<string, { Name?: string }> } | undefined
    for (const [id, c] of Object.entries(info?.Containers ?? {})) {
      await bridge.disconnect({ Container: c.Name ?? id, Force: true }).catch(() => undefined)
    }
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
}
