import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**']
  }),
  {
    // A TypeBox schema and its static type share one name, as TypeBox recommends.
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]
