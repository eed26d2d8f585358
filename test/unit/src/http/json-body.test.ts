// The one JSON body reader: what it accepts as is, and the 400 it gives for everything else.
import t from 'tap'
import { parseJsonBody } from '../../../../src/http/json-body.ts'
import { MAX_JSON_DEPTH, tooDeepAt } from '../../../../src/schemas/json-depth.ts'

function refusal (text: string): { statusCode?: number, code?: string, message?: string } {
  try {
    parseJsonBody(text)
  } catch (error) {
    return error as { statusCode?: number, code?: string, message?: string }
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`)
}

t.test('ordinary JSON is read as is, including harmless "constructor" and "proto" keys', async (t) => {
  t.same(parseJsonBody('{"room":"r","message":{"constructor":"Ford","proto":1,"text":"\\u0041"}}'),
    { room: 'r', message: { constructor: 'Ford', proto: 1, text: 'A' } })
  t.same(parseJsonBody(' [1, 2] '), [1, 2])
})

t.test('empty or malformed bodies are 400s in Fastify\'s own codes', async (t) => {
  t.match(refusal(''), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })
  t.match(refusal('  \n'), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })
  t.match(refusal('{"room":'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: 'body is not valid JSON' })
})

t.test('poisoning keys are refused naming where they are', async (t) => {
  t.match(refusal('{"__proto__":{}}'), { statusCode: 400, code: 'INVALID_PAYLOAD', message: /^body\/__proto__ is not allowed/ })
  t.match(refusal('{"a":[{"\\u005f\\u005fproto\\u005f\\u005f":1}]}'), { message: /^body\/a\/0\/__proto__ is not allowed/ })
  t.match(refusal('{"message":{"constructor":{"prototype":{}}}}'), { message: /^body\/message\/constructor is not allowed/ })
})

t.test('nesting far past the limit is refused naming the field, without walking the rest', async (t) => {
  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
  t.match(refusal(`{"message":${deep(100_000)}}`), { statusCode: 400, code: 'INVALID_PAYLOAD', message: 'body/message nests deeper than 32 levels' })
  t.match(refusal(`{"events":[{"type":"x"},{"message":{"a":${deep(40)}}}]}`), { message: 'body/events/1/message nests deeper than 32 levels' })
  t.doesNotThrow(() => parseJsonBody(`{"events":[{"message":${deep(MAX_JSON_DEPTH)}}]}`), 'a batch item\'s message at the limit')
  t.same(tooDeepAt({ a: [{}] }, 2), ['a', '0'])
  t.equal(tooDeepAt({ a: [{}] }, 3), undefined)
})
