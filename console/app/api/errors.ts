import type { ApiErrorBody, ApiErrorDetail } from './types'

/** A failed API call, carrying the API's error shape (code, message, the fields it names). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: ApiErrorDetail[]
  readonly requestId?: string

  constructor(status: number, body: unknown) {
    const err = isErrorBody(body) ? body.error : undefined
    super(err?.message ?? (status === 0 ? 'The server could not be reached.' : `Request failed (${status}).`))
    this.name = 'ApiError'
    this.status = status
    this.code = err?.code ?? (status === 0 ? 'network_error' : 'http_error')
    this.details = err?.details ?? []
    this.requestId = err?.request_id ?? undefined
  }

  /** The issue the API reported for one field (JSON pointer such as "/email"), if any. */
  fieldIssue(path: string): string | undefined {
    return this.details.find((d) => d.path === path)?.issue
  }
}

export function isErrorBody(body: unknown): body is ApiErrorBody {
  return typeof body === 'object' && body !== null && 'error' in body
    && typeof (body as { error: unknown }).error === 'object'
}

/** "Field /email: must be an address" lines for display. */
export function describeDetails(details: ApiErrorDetail[]): string[] {
  return details.map((d) => (d.path ? `${fieldLabel(d.path)}: ${d.issue ?? 'invalid'}` : d.issue ?? 'invalid'))
}

export function fieldLabel(pointer: string): string {
  const last = pointer.split('/').filter(Boolean)
  return last.length ? last.join(' › ').replace(/_/g, ' ') : 'request'
}
