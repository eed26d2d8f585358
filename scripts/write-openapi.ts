// Writes openapi.yaml from the running app's schemas: `npm run openapi`.
import { writeFile } from 'node:fs/promises'
import { openapiYaml } from './documents.ts'

await writeFile(new URL('../openapi.yaml', import.meta.url), await openapiYaml())
process.stdout.write('openapi.yaml written\n')
