// What the figures were measured on: cores, CPU model, memory, Node, and how busy it was.
import { cpus, freemem, loadavg, totalmem } from 'node:os'

export interface Machine {
  cores: number
  cpuModel: string
  memoryGiB: number
  node: string
  loadAverage: string
}

export function describeMachine (): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadavg().map((load) => load.toFixed(2)).join(' ')
  }
}

export function machineLine (machine: Machine): string {
  return `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
    `load average ${machine.loadAverage} at start, ${Math.round(freemem() / 2 ** 30)} GiB free`
}
