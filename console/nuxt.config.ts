// Client-rendered console, generated to static files (.output/public) that the
// platform serves at "/" beside the API (same origin, no CORS).
import vuetify, { transformAssetUrls } from 'vite-plugin-vuetify'

export default defineNuxtConfig({
  compatibilityDate: '2026-11-01',
  ssr: false,
  devtools: { enabled: false },
  telemetry: false,
  typescript: { strict: true, typeCheck: false },
  modules: ['@pinia/nuxt'],
  css: ['vuetify/styles', '~/assets/console.css'],
  build: { transpile: ['vuetify'] },
  app: {
    head: {
      title: 'Stepline',
      htmlAttrs: { lang: 'en' },
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'description', content: 'Stepline console: apps, connections, workflows and runs.' },
      ],
      link: [{ rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }],
    },
  },
  hooks: {
    'vite:extendConfig': (config) => {
      config.plugins = config.plugins || []
      // Only the Vuetify components a page uses end up in its chunk.
      config.plugins.push(vuetify({ autoImport: true }))
    },
  },
  vite: {
    vue: { template: { transformAssetUrls } },
    build: { chunkSizeWarningLimit: 1500 },
  },
  nitro: { preset: 'static' },
})
