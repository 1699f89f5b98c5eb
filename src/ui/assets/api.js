// The page's only way to the server: the JSON endpoints of README "Web page", on the same origin.

// Every error on this port has one body: {"error": message, "code", "detail", "hint"?, "details"?}.
export class ApiError extends Error {
  constructor(status, body, fallback) {
    super(typeof body?.error === 'string' ? body.error : fallback)
    this.status = status
    this.code = body?.code
    this.hint = body?.hint
  }
}

export async function getJson(path, {signal} = {}) {
  const res = await fetch(path, {headers: {Accept: 'application/json'}, signal})
  return readJson(res)
}

export async function postJson(path, body, {signal} = {}) {
  const res = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify(body),
    signal,
  })
  return readJson(res)
}

async function readJson(res) {
  const text = await res.text()
  let body
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    throw new ApiError(res.status, null, `${res.status} ${res.statusText}: the answer is not JSON`)
  }
  if (!res.ok) throw new ApiError(res.status, body, `${res.status} ${res.statusText}`)
  return body
}

export const api = {
  info: () => getJson('/api/info'),
  runs: () => getJson('/api/runs'),
  run: (id) => getJson(`/api/runs/${encodeURIComponent(id)}`),
  runBoundary: (id) => getJson(`/api/runs/${encodeURIComponent(id)}/boundary`),
  models: () => getJson('/api/models'),
  history: (limit = 200, model) =>
    getJson(`/api/history?limit=${limit}${model ? `&model=${encodeURIComponent(model)}` : ''}`),
  served: async () => (await getJson('/api/served')).served,
  servedBoundary: () => getJson('/api/served/boundary'),
  traffic: async () => (await getJson('/api/traffic')).traffic,
  predict: (rows) => postJson('/predict', {data: rows}),
}
