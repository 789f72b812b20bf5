// Vuetify: Material Design components, light and dark themes, SVG icons (tree-shaken from @mdi/js).
import { createVuetify } from 'vuetify'
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg'
import { initialTheme } from '~/utils/theme'

export default defineNuxtPlugin((nuxtApp) => {
  const vuetify = createVuetify({
    icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
    theme: {
      defaultTheme: initialTheme(),
      themes: {
        light: {
          dark: false,
          colors: {
            primary: '#3949ab', secondary: '#00897b', background: '#f6f7fb', surface: '#ffffff',
            error: '#b3261e', warning: '#8a5300', success: '#1b6e3a', info: '#0b57d0',
          },
        },
        dark: {
          dark: true,
          colors: {
            primary: '#9fa8da', secondary: '#4db6ac', background: '#121318', surface: '#1c1d24',
            error: '#ffb4ab', warning: '#ffb951', success: '#7fd99c', info: '#a8c7fa',
          },
        },
      },
    },
    defaults: {
      VTextField: { variant: 'outlined', density: 'comfortable' },
      VSelect: { variant: 'outlined', density: 'comfortable' },
      VAutocomplete: { variant: 'outlined', density: 'comfortable' },
      VTextarea: { variant: 'outlined', density: 'comfortable' },
      VBtn: { rounded: 'lg' },
      VCard: { rounded: 'lg' },
    },
  })
  nuxtApp.vueApp.use(vuetify)
})
