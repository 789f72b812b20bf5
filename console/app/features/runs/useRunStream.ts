// Follows a run's server-sent events (`…/runs/{id}/stream`). The body of each response is one
// long poll; the client reconnects with `Last-Event-ID` (the seq of the last event seen), so
// nothing is missed or repeated. fetch-event-source reads the stream through `authFetch`, so
// the access token travels in the Authorization header (never in the URL) and refreshes like
// every other call. Events are handed over in batches (at most every `batchMs`), which keeps
// a 1,000-step run from re-rendering the page once per event.
import { fetchEventSource } from '@microsoft/fetch-event-source'
import { ref } from 'vue'
import { authFetch } from '~/api/transport'
import type { RunStreamEvent } from './runState.utils'

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed'

class Fatal extends Error {}
class Closed extends Error {}

export interface RunStreamOptions {
  url: string
  /** Resume after this seq (the run's `last_event_id` when its detail was read). */
  after: number
  onEvents: (events: RunStreamEvent[]) => void
  /** True once the run has ended: the stream then stops instead of reconnecting. */
  done: () => boolean
  batchMs?: number
}

export function useRunStream() {
  const state = ref<StreamState>('ended')
  let controller: AbortController | null = null

  function stop(): void {
    controller?.abort()
    controller = null
  }

  function start(opts: RunStreamOptions): void {
    stop()
    const ctrl = new AbortController()
    controller = ctrl
    // Each request is a long poll that answers when there are events: listening starts now.
    state.value = 'live'
    let buffer: RunStreamEvent[] = []
    let timer: ReturnType<typeof setTimeout> | null = null
    let gotEvents = false
    const flush = () => {
      if (timer) clearTimeout(timer)
      timer = null
      const batch = buffer
      buffer = []
      if (batch.length && !ctrl.signal.aborted) opts.onEvents(batch)
    }
    void fetchEventSource(`${opts.url}?wait=25`, {
      signal: ctrl.signal,
      // fetch-event-source keeps this header current (lower-case key, as it writes it itself).
      headers: { 'last-event-id': String(opts.after) },
      openWhenHidden: true,
      fetch: (input, init) => authFetch(new Request(input, init)),
      async onopen(res) {
        if (!res.ok) throw new Fatal(`stream answered ${res.status}`)
        state.value = 'live'
        gotEvents = false
      },
      onmessage(msg) {
        if (!msg.data) return
        try {
          buffer.push(JSON.parse(msg.data) as RunStreamEvent)
        } catch {
          return
        }
        gotEvents = true
        timer ??= setTimeout(flush, opts.batchMs ?? 250)
      },
      onclose() {
        flush()
        if (opts.done()) {
          state.value = 'ended'
          ctrl.abort()
          return
        }
        throw new Closed('body ended; reconnect with Last-Event-ID')
      },
      onerror(err) {
        if (err instanceof Fatal) throw err
        if (!(err instanceof Closed)) state.value = 'reconnecting'
        // More may be waiting right after a full body; otherwise the server's retry pace.
        return gotEvents ? 0 : 1000
      },
    }).catch(() => {
      if (!ctrl.signal.aborted) state.value = 'failed'
    })
  }

  return { state, start, stop }
}
