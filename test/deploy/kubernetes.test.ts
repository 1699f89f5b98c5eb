import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ServiceMonitor} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {HorizontalPodAutoscaler} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import {Job} from 'kubernetes-models/batch/v1/Job'
import {Secret} from 'kubernetes-models/v1/Secret'
import {Service} from 'kubernetes-models/v1/Service'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {ROOT} from '../helpers/cli.js'

/**
 * deploy/kubernetes/ checked against the Kubernetes API schemas (and the Prometheus
 * Operator's for the ServiceMonitor), since no cluster runs here, and against what morpho
 * itself expects of them: probes, the Secret, the Indexed Job's shards.
 */

const DIR = join(ROOT, 'deploy', 'kubernetes')
// biome-ignore lint/suspicious/noExplicitAny: a constructor from the schema packages, each with its own type
const KINDS: Record<string, new (data: any) => {validate(): void}> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked by the schemas, read freely here
async function manifests(): Promise<Record<string, any>> {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const out: Record<string, any> = {}
  for (const name of (await readdir(DIR)).filter((n) => n.endsWith('.yaml')).sort()) {
    const doc = parse(await readFile(join(DIR, name), 'utf8'))
    out[`${doc.apiVersion}/${doc.kind}`] = doc
  }
  return out
}

describe('deploy/kubernetes', () => {
  it('holds a Deployment, Service, Secret, HPA, ServiceMonitor and Indexed Job that the schemas accept', async () => {
    const all = await manifests()
    expect(Object.keys(all).sort()).toEqual(Object.keys(KINDS).sort())
    for (const [kind, doc] of Object.entries(all)) {
      expect(() => new KINDS[kind]!(doc).validate(), kind).not.toThrow()
    }
  })

  it('the schemas do refuse a broken manifest (the check can fail)', async () => {
    const {'apps/v1/Deployment': deployment} = await manifests()
    deployment.spec.replicas = 'three'
    expect(() => new Deployment(deployment).validate()).toThrow()
  })

  it('runs serve replicas non-root, following the store from the Secret, probed on the OIP health endpoints', async () => {
    const all = await manifests()
    const deployment = all['apps/v1/Deployment']
    const pod = deployment.spec.template.spec
    const container = pod.containers[0]
    expect(pod.securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 10001})
    expect(container.securityContext).toMatchObject({allowPrivilegeEscalation: false, readOnlyRootFilesystem: true})
    expect(container.args).toEqual(['serve', '--host', '0.0.0.0', '--port', '8080', '--watch'])
    expect(container.readinessProbe.httpGet.path).toBe('/v2/health/ready')
    expect(container.livenessProbe.httpGet.path).toBe('/v2/health/live')
    const store = container.env.find((e: {name: string}) => e.name === 'MORPHO_STORE')
    expect(store.valueFrom.secretKeyRef).toEqual({name: all['v1/Secret'].metadata.name, key: 'url'})
    expect(all['v1/Secret'].stringData.url).toMatch(/^postgres:\/\//)
    // The Service, the HPA and the ServiceMonitor point at these pods.
    expect(all['v1/Service'].spec.selector).toEqual(deployment.spec.selector.matchLabels)
    expect(all['autoscaling/v2/HorizontalPodAutoscaler'].spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: deployment.metadata.name,
    })
    const monitor = all['monitoring.coreos.com/v1/ServiceMonitor']
    expect(monitor.spec.selector.matchLabels).toEqual(all['v1/Service'].metadata.labels)
    expect(monitor.spec.endpoints[0]).toMatchObject({port: all['v1/Service'].spec.ports[0].name, path: '/metrics'})
  })

  it('spreads a sweep over an Indexed Job: one shard per completion index', async () => {
    const job = (await manifests())['batch/v1/Job']
    expect(job.spec.completionMode).toBe('Indexed')
    const args: string[] = job.spec.template.spec.containers[0].args
    expect(args[0]).toBe('sweep')
    expect(Number(args[args.indexOf('--shards') + 1])).toBe(job.spec.completions)
    expect(args).toContain('--register-best')
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true)
  })
})
