// A throwaway certificate authority and a server certificate it signed for 127.0.0.1, made with
// openssl in a directory of the test's (nothing of it is committed).
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCertificates {
  /** PEM file of the CA certificate. */
  ca: string
  /** PEM files of the server certificate (subjectAltName IP:127.0.0.1) and its key. */
  cert: string
  key: string
}

/** Files `<name>-ca.crt`, `<name>.crt` and `<name>.key` in `dir`. */
export async function makeCertificates (dir: string, name = 'test'): Promise<TestCertificates> {
  const file = (suffix: string) => join(dir, `${name}${suffix}`)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...ec, '-keyout', file('-ca.key'), '-out', file('-ca.crt'), '-days', '1', '-subj', `/CN=${name} test CA`])
  await run('openssl', ['req', ...ec, '-keyout', file('.key'), '-out', file('.csr'), '-subj', '/CN=127.0.0.1'])
  writeFileSync(file('.ext'), 'subjectAltName=IP:127.0.0.1\n')
  await run('openssl', ['x509', '-req', '-in', file('.csr'), '-CA', file('-ca.crt'), '-CAkey', file('-ca.key'), '-CAcreateserial',
    '-out', file('.crt'), '-days', '1', '-extfile', file('.ext')])
  return { ca: file('-ca.crt'), cert: file('.crt'), key: file('.key') }
}
