import type {TestProject} from 'vitest/node'
import {startCluster} from './helpers/postgres.js'

/**
 * One throwaway PostgreSQL cluster for the whole run; each test file that needs the database
 * store makes its own database in it (test/helpers/stores.ts). Stopped and removed after.
 */
export default async function setup(project: TestProject) {
  const cluster = await startCluster()
  project.provide('postgresAdminUrl', cluster.url())
  return async () => {
    await cluster.destroy()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string
  }
}
