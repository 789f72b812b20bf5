// Every type the console uses about the API is derived from the generated contract
// (schema.d.ts, from docs/openapi.json); none is written by hand.
import type { components, paths } from './schema'

export type { components, paths }
export type Schemas = components['schemas']
export type ApiErrorBody = Schemas['Error']
export type ApiErrorDetail = NonNullable<ApiErrorBody['error']['details']>[number]

type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never

/** The JSON body of a successful (2xx) answer of `method path`. */
export type ResponseOf<P extends keyof paths, M extends keyof paths[P]> =
  paths[P][M] extends { responses: infer Rs }
    ? JsonOf<Rs[Extract<keyof Rs, 200 | 201 | 202>]>
    : never

/** The JSON request body of `method path`. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> =
  paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

/** One item of a list answer (`{items: [...], next_cursor}`). */
export type ItemOf<P extends keyof paths> =
  ResponseOf<P, 'get' & keyof paths[P]> extends { items: Array<infer I> } ? I : never
