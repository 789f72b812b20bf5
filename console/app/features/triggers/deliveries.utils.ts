// A delivery's request as the console shows it: headers as rows, the body as JSON, text or a
// note (binary, empty), and the text a copy button copies. Pure: no I/O, no Vue.
import type { Schemas } from '~/api/types'

export type DeliveryDetail = Schemas['DeliveryDetail']
export type DeliveryRequest = Schemas['DeliveryRequest']

export type ShownBody =
  | { kind: 'json'; value: unknown; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'binary' }
  | { kind: 'empty' }

/** Headers sorted by name, for a table. */
export function headerRows(request: DeliveryRequest): Array<{ name: string; value: string }> {
  return Object.entries(request.headers).map(([name, value]) => ({ name, value })).sort((a, b) => a.name.localeCompare(b.name))
}

/** How to show the body: a complete JSON document as JSON, anything cut or not JSON as text. */
export function shownBody(request: DeliveryRequest): ShownBody {
  if (request.body_encoding === 'binary' || request.body === null) return { kind: 'binary' }
  if (request.body === '') return { kind: 'empty' }
  if (request.body_encoding === 'json' && !request.truncated) {
    try {
      return { kind: 'json', value: JSON.parse(request.body), text: request.body }
    } catch {
      // stored as JSON but not parseable here (never expected): show it as text
    }
  }
  return { kind: 'text', text: request.body }
}

/** "1.5 KiB" */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}

/** The sentence under a body that is not all there (or not there at all), else null. */
export function bodyNote(request: DeliveryRequest): string | null {
  if (request.body_encoding === 'binary') return `Binary body of ${formatBytes(request.size)}: only its size is kept.`
  if (request.truncated) return `Truncated: the first 64 KiB of ${formatBytes(request.size)} are shown.`
  return null
}

/** The request as HTTP text (request line, headers, blank line, body), for the copy button. */
export function requestText(request: DeliveryRequest, url = ''): string {
  const head = [`${request.method} ${url || '/'}`.trimEnd(), ...headerRows(request).map((h) => `${h.name}: ${h.value}`)]
  const body = shownBody(request)
  return head.join('\n') + '\n\n' + (body.kind === 'json' || body.kind === 'text' ? body.text : '')
}
