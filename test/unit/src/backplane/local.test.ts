// The backplane of a bridge that runs alone, against the conformance suite.
import t from 'tap'
import { conformance, deploymentOf } from '../../../helpers/backplane-conformance.ts'

conformance(t, { name: 'local', spansNodes: false, deployment: (t) => deploymentOf(t, {}) })
