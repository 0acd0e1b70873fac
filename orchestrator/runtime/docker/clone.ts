/**
 * One more replica of a compose service, made like an existing one: what an
 * injection adds to a network that `docker compose up` started (it has no
 * reserve provisioned in advance). The copy carries the service's compose
 * labels with the next container number, so Compose counts it as one of the
 * service's replicas: `docker compose down` removes it like the others, and
 * `patchday down` by the project's label.
 */
import type Docker from 'dockerode'
import { RuntimeError } from '../../errors.ts'

const PROJECT_LABEL = 'com.docker.compose.project'
const SERVICE_LABEL = 'com.docker.compose.service'
const NUMBER_LABEL = 'com.docker.compose.container-number'

export interface CloneRequest {
  /** The container to copy (a replica of the service). */
  like: string
  /** Environment entries that replace or add to the copy's (NAME -> value). */
  env: Record<string, string>
  /** Extra labels (e.g. the peer's name). */
  labels: Record<string, string>
  /** How Compose names containers: v1 `project_service_3`, v2 `project-service-3`. */
  compose: 'v1' | 'v2'
}

/** `A=1` entries with `env` laid over them, in a stable order. */
export function mergeEnv (base: string[], env: Record<string, string>): string[] {
  const out = new Map<string, string>()
  for (const e of base) {
    const eq = e.indexOf('=')
    if (eq > 0) out.set(e.slice(0, eq), e.slice(eq + 1))
  }
  for (const [k, v] of Object.entries(env)) out.set(k, v)
  return [...out].map(([k, v]) => `${k}=${v}`)
}

/** The name Compose would give the service's replica `n`. */
export function replicaName (project: string, service: string, n: number, compose: 'v1' | 'v2'): string {
  const sep = compose === 'v1' ? '_' : '-'
  return `${project}${sep}${service}${sep}${n}`
}

/** Create (not start) the copy; returns its id. */
export async function cloneReplica (docker: Docker, r: CloneRequest): Promise<string> {
  const info = await docker.getContainer(r.like).inspect()
  const labels = info.Config.Labels ?? {}
  const project = labels[PROJECT_LABEL]
  const service = labels[SERVICE_LABEL]
  if (project === undefined || service === undefined) throw new RuntimeError(`container ${r.like.slice(0, 12)} is not part of a compose service: nothing to copy`)
  const siblings = await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`, `${SERVICE_LABEL}=${service}`] } })
  const number = 1 + Math.max(0, ...siblings.map(c => Number(c.Labels[NUMBER_LABEL] ?? 0)).filter(n => Number.isFinite(n)))
  const networks = Object.keys(info.NetworkSettings.Networks ?? {})
  const network = networks[0]
  if (network === undefined) throw new RuntimeError(`container ${r.like.slice(0, 12)} is on no network: nothing to copy`)
  const h = info.HostConfig
  const created = await docker.createContainer({
    name: replicaName(project, service, number, r.compose),
    Image: info.Config.Image,
    Cmd: info.Config.Cmd,
    Entrypoint: info.Config.Entrypoint,
    Env: mergeEnv(info.Config.Env ?? [], r.env),
    Labels: { ...labels, [NUMBER_LABEL]: String(number), ...r.labels },
    User: info.Config.User,
    WorkingDir: info.Config.WorkingDir,
    HostConfig: {
      Init: h.Init,
      LogConfig: h.LogConfig,
      Ulimits: h.Ulimits,
      Binds: h.Binds,
      NetworkMode: network,
      RestartPolicy: h.RestartPolicy
    },
    // Same network, same service alias: the copy is one more `peer` to DNS as well.
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [service] } } }
  })
  return created.id
}
