// Grows a registry document for the registry benchmarks (bench:registry, bench:store): copies
// of the model's first version up to `count` versions, each with its own registration time and
// val_acc (a deterministic spread with ties), every tenth Archived, and one history entry each.

/**
 * @param {import('../../src/registry/schema.js').RegistryDocument} doc
 * @param {string} name
 * @param {number} count
 * @param {{withoutValAccEvery?: number}} [options] every Nth version records no val_acc
 */
export function cloneVersions(doc, name, count, options = {}) {
  const model = doc.models[name]
  const first = model.versions[0]
  let rng = 12345
  const random = () => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31
    return rng / 2 ** 31
  }
  const t0 = Date.parse(first.createdAt)
  for (let v = model.versions.length + 1; v <= count; v++) {
    const time = new Date(t0 + v * 1000).toISOString()
    const metrics = {...first.metrics, val_acc: Math.round((0.7 + random() * 0.29) * 1e4) / 1e4}
    if (options.withoutValAccEvery && v % options.withoutValAccEvery === 0) delete metrics.val_acc
    model.versions.push({
      ...first,
      version: v,
      stage: v % 10 === 0 ? 'Archived' : 'None',
      runId: `bench-run-${v}`,
      createdAt: time,
      updatedAt: time,
      metrics,
      path: `models/${name}/${v}`,
    })
    doc.history.push({
      seq: doc.history.length + 1,
      time,
      model: name,
      version: v,
      action: 'register',
      from: null,
      to: 'None',
      reason: `registered run bench-run-${v}`,
      rule: {rule: 'manual'},
      actor: doc.history[0].actor,
    })
  }
  model.nextVersion = count + 1
}
