// Component, store and contract tests (Vitest). Tests sit beside the files they test.
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import vuetify from 'vite-plugin-vuetify'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [vue(), vuetify({ autoImport: true })],
  resolve: { alias: { '~': fileURLToPath(new URL('./app', import.meta.url)) } },
  test: {
    include: ['app/**/*.test.ts'],
    environment: 'node',
    globals: true, // Testing Library cleans up after each test
    server: { deps: { inline: ['vuetify', '@jsonforms/vue-vuetify'] } },
    css: false,
  },
})
