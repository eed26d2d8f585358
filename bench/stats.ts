// Numbers for the report: latency samples, percentiles and medians of repeated runs.
import type { LoadResult } from './load-generator.ts'

/** A growable list of numbers stored flat, cheap to fill with hundreds of thousands of samples. */
export class SampleBuffer {
  #values = new Float64Array(4096)
  #length = 0

  push (value: number): void {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2)
      bigger.set(this.#values)
      this.#values = bigger
    }
    this.#values[this.#length++] = value
  }

  get length (): number {
    return this.#length
  }

  clear (): void {
    this.#length = 0
  }

  values (): Float64Array {
    return this.#values.slice(0, this.#length)
  }
}

/** Percentiles (0..100) of the samples, nearest-rank; NaN when there are none. */
export function percentiles (samples: Float64Array[], wanted: number[]): number[] {
  const total = samples.reduce((sum, part) => sum + part.length, 0)
  if (total === 0) return wanted.map(() => Number.NaN)
  const all = new Float64Array(total)
  let offset = 0
  for (const part of samples) {
    all.set(part, offset)
    offset += part.length
  }
  all.sort()
  return wanted.map((p) => all[Math.min(total - 1, Math.max(0, Math.ceil((p / 100) * total) - 1))] as number)
}

/** The median of repeated measurements, ignoring the ones that could not be taken (NaN). */
export function median (values: number[]): number {
  const known = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b)
  if (known.length === 0) return Number.NaN
  const middle = Math.floor(known.length / 2)
  return known.length % 2 === 1 ? known[middle] as number : ((known[middle - 1] as number) + (known[middle] as number)) / 2
}

/** A number for the table: `-` when not measured, otherwise rounded to `digits`. */
export function fmt (value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '-'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A plain-text table whose columns line up; the same text is valid Markdown. */
export function markdownTable (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`
  return [line(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.map(line)].join('\n')
}

export const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`
export const ms = (value: number) => `${fmt(value, Number.isFinite(value) && value < 10 ? 1 : 0)} ms`

/** The statuses a load run got back, and its transport errors. */
export function statusLine (load: LoadResult): string {
  const statuses = Object.entries(load.statuses).map(([status, n]) => `${n}× ${status}`)
  if (load.errors > 0) statuses.push(`${load.errors}× ${load.firstError ?? 'error'}`)
  return `answers: ${statuses.join(', ')}`
}
