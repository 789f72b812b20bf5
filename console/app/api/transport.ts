// The one fetch every API call goes through: adds the access token, and on a 401
// refreshes the session once (single flight) and retries. Used by openapi-fetch and,
// later, by the run stream (fetch-event-source), so the token always stays in a header.

export interface SessionPort {
  accessToken(): string | null
  /** Refresh the session; resolves true when a new access token is in place. */
  refresh(): Promise<boolean>
  /** The session is gone (refresh refused): sign out with the API's reason. */
  ended(reason: string): void
}

let port: SessionPort | null = null

export function bindSession(session: SessionPort): void {
  port = session
}

function withToken(request: Request): Request {
  const token = port?.accessToken()
  if (!token || request.headers.has('Authorization')) return request
  const headers = new Headers(request.headers)
  headers.set('Authorization', `Bearer ${token}`)
  return new Request(request, { headers })
}

export async function authFetch(input: Request): Promise<Response> {
  const spare = input.clone()
  const first = await fetch(withToken(input))
  if (first.status !== 401 || !port?.accessToken() || isAuthRoute(input.url)) return first
  if (await port.refresh()) return fetch(withToken(spare))
  return first
}

function isAuthRoute(url: string): boolean {
  return new URL(url, 'http://x').pathname.startsWith('/auth/')
}
