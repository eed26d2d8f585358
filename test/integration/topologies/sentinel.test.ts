// Two bridges on a Sentinel-managed primary (a primary, a replica, three sentinels this test
// starts) act as one, as on one Redis.
import t from 'tap'
import { sentinelEnv, startSentinelSet } from '../../helpers/redis-topologies.ts'
import { twoBridgesActAsOne } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

const set = await startSentinelSet(t)
twoBridgesActAsOne(t, 'sentinel', () => sentinelEnv(set))
