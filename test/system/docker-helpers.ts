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
