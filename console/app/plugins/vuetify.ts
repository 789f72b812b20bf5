// Vuetify: Material Design components, light and dark themes, SVG icons (tree-shaken from @mdi/js).
import { createVuetify } from 'vuetify'
import { initialTheme } from '~/utils/theme'
import { vuetifyOptions } from '~/utils/vuetifyOptions'

export default defineNuxtPlugin((nuxtApp) => {
  nuxtApp.vueApp.use(createVuetify(vuetifyOptions(initialTheme())))
})
