// The variables as plain text for a terminal (a `--help` prints it): name(s), default and
// meaning, one short block each, wrapped to 80 columns.
import { MIN_SECRET_BYTES } from './parse-value.ts'
import { configRows, type ConfigRow } from './rows.ts'

const WIDTH = 80
const INDENT = '    '

/** A meaning's Markdown as plain text: no backticks, links as their text (the README has the targets). */
function plain (markdown: string): string {
  return markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replaceAll('`', '')
}

function wrap (text: string, indent = ''): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  return [...lines, indent + line]
}

function block (row: ConfigRow): string[] {
  return [row.names.join(', '), ...wrap(`default: ${plain(row.defaultText)}`, INDENT), ...wrap(plain(row.meaning), INDENT), '']
}

export function configHelp (rows: ConfigRow[] = configRows()): string {
  return [
    ...wrap('Environment variables, read once at start; a .env file in the working directory is read too ' +
      '(variables already in the environment win). An invalid value stops the start with one line naming it.'),
    '',
    ...rows.flatMap(block),
    ...wrap(`In production (NODE_ENV=production) each secret must be at least ${MIN_SECRET_BYTES} bytes (openssl rand -hex 32). ` +
      "More in the README's Configuration section and in docs/.")
  ].join('\n') + '\n'
}
