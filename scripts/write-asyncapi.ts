// Writes asyncapi.yaml from the socket.io schemas: `npm run asyncapi`.
import { writeFile } from 'node:fs/promises'
import { asyncapiYaml } from '../src/documents/asyncapi.ts'

await writeFile(new URL('../asyncapi.yaml', import.meta.url), asyncapiYaml())
process.stdout.write('asyncapi.yaml written\n')
